// Calls Node has no binding for, or makes costly (issue 16):
// - syncfs(path): a Promise that settles once syncfs(2) has flushed the filesystem holding `path`.
//   The open and the flush run on libuv's thread pool (napi async work): a syncfs can block for
//   100 ms and more, and must not hold the event loop. Before, lib/durable.ts ran `sync -f PATH`,
//   which forks the whole Node process for each call.
// - mallocTrim(): glibc's malloc_trim(0), which gives the free pages inside every malloc arena back
//   to the kernel (lib/memory.ts says when the node calls it).
// - putFile(dir, name, data): a new file written and linked under its name once whole, in one call
//   (below, with its reasons).
// - spawnCapture(file, args, env, input): a host command by posix_spawn, not a fork (spawn.c).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <node_api.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  const char *syscall; // the call that failed: "open" or "syncfs"
  int err;             // its errno, 0 on success
} Job;

static void run(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  int fd = open(job->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    job->syscall = "open";
    job->err = errno;
    return;
  }
  if (syncfs(fd) != 0) {
    job->syscall = "syncfs";
    job->err = errno;
  }
  close(fd);
}

// Rejects with an Error shaped like node:fs's: code (ENOENT...), errno (negative), syscall, path.
static napi_value error_for(napi_env env, const Job *job) {
  const char *name = strerrorname_np(job->err);
  char msg[4096 + 256];
  snprintf(msg, sizeof msg, "syncfs: %s: %s, %s '%s'", name ? name : "EIO", strerror(job->err), job->syscall, job->path);
  napi_value code, text, err, v;
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &err);
  napi_create_int32(env, -job->err, &v);
  napi_set_named_property(env, err, "errno", v);
  napi_create_string_utf8(env, job->syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "syscall", v);
  napi_create_string_utf8(env, job->path, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "path", v);
  return err;
}

static void done(napi_env env, napi_status status, void *data) {
  Job *job = data;
  if (status == napi_ok && job->err == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, job->deferred, undef);
  } else {
    if (status != napi_ok && job->err == 0) {
      job->syscall = "syncfs";
      job->err = ECANCELED;
    }
    napi_reject_deferred(env, job->deferred, error_for(env, job));
  }
  napi_delete_async_work(env, job->work);
  free(job->path);
  free(job);
}

static napi_value syncfs_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  size_t len = 0;
  if (type == napi_string) napi_get_value_string_utf8(env, argv[0], NULL, 0, &len);
  if (type != napi_string || len == 0 || len >= 4096) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "syncfs: path must be a non-empty string shorter than 4096 bytes");
    return NULL;
  }
  Job *job = calloc(1, sizeof *job);
  if (job) job->path = malloc(len + 1);
  if (!job || !job->path) {
    free(job);
    napi_throw_error(env, "ENOMEM", "syncfs: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], job->path, len + 1, &len);
  if (strlen(job->path) != len) { // an embedded NUL would name another file
    free(job->path);
    free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "syncfs: path must not contain NUL bytes");
    return NULL;
  }
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "zos:syncfs", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, run, done, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

// Synchronous: it walks the arenas' free chunks, well under a millisecond on a daemon's heap.
static napi_value malloc_trim_js(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value released;
  napi_get_boolean(env, malloc_trim(0) == 1, &released);
  return released;
}

// putFile(dir, name, data): the file dir/name holding exactly `data`, for the image build's chunk
// files (image/store/chunk-files.ts), one synchronous call from a worker thread in place of five
// node:fs calls (stat, open, write, close, rename), each with its own path walk and JavaScript
// wrapping. The file is made unnamed in `dir` (O_TMPFILE), written, and linked under its name
// once whole, so a reader never sees part of it and a crash leaves no temp file behind.
// Returns true when it made the file, false when a file of that size was there already (a chunk
// is named by its content: same name and size, same bytes) or another writer linked it first.
// A file of another size under the name (a torn copy) is replaced. No fsync: the store's caller
// syncs the filesystem once (syncfs) before anything names the file. Throws node:fs-shaped errors;
// EOPNOTSUPP, EISDIR or EINVAL from open mean the filesystem has no O_TMPFILE (the caller falls
// back to a temp file and rename).
static int link_by_proc = 0; // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before Linux 6.10: else /proc/self/fd

// Throws an Error shaped like node:fs's (code, errno, syscall, path); spawn.c's start failures too.
napi_value throw_errno(napi_env env, const char *syscall, int err, const char *path) {
  const char *name = strerrorname_np(err);
  char msg[4096 + 256];
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", name ? name : "EIO", strerror(err), syscall, path);
  napi_value code, text, e, v;
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &e);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "path", v);
  napi_throw(env, e);
  return NULL;
}

// A string argument into buf (size bytes); false, with a TypeError thrown, if it is not a
// non-empty string that fits without NUL bytes.
static bool string_arg(napi_env env, napi_value v, char *buf, size_t size, size_t *len, const char *what) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, v, &type);
  if (type == napi_string) napi_get_value_string_utf8(env, v, NULL, 0, len);
  if (type != napi_string || *len == 0 || *len >= size) {
    char msg[128];
    snprintf(msg, sizeof msg, "putFile: %s must be a non-empty string shorter than %zu bytes", what, size);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return false;
  }
  napi_get_value_string_utf8(env, v, buf, size, len);
  if (strlen(buf) != *len) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "putFile: names must not contain NUL bytes");
    return false;
  }
  return true;
}

static napi_value put_file_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char dir[4096], path[4096 + 256];
  char name[256];
  size_t dir_len = 0, name_len = 0;
  if (argc < 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "putFile: takes (dir, name, data)");
    return NULL;
  }
  if (!string_arg(env, argv[0], dir, sizeof dir, &dir_len, "dir") || !string_arg(env, argv[1], name, sizeof name, &name_len, "name")) return NULL;
  if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "putFile: name must be a plain file name");
    return NULL;
  }
  bool typed = false;
  napi_is_typedarray(env, argv[2], &typed);
  if (!typed) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "putFile: data must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type ta_type;
  size_t length = 0;
  void *data = NULL;
  napi_get_typedarray_info(env, argv[2], &ta_type, &length, &data, NULL, NULL);
  if (ta_type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "putFile: data must be a Uint8Array");
    return NULL;
  }
  snprintf(path, sizeof path, "%s/%s", dir, name);
  napi_value result;
  struct stat st;
  if (stat(path, &st) == 0 && st.st_size == (off_t)length) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0 && errno == ENOENT) { // the fan-out directory is made by its first chunk
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return throw_errno(env, "mkdir", errno, dir);
    fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  }
  if (fd < 0) return throw_errno(env, "open", errno, dir);
  for (size_t done = 0; done < length;) {
    ssize_t n = write(fd, (const char *)data + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(fd);
      return throw_errno(env, "write", err, path);
    }
    done += (size_t)n;
  }
  bool made = true;
  for (int attempt = 0;; attempt++) {
    int r = -1;
    if (!link_by_proc) {
      r = linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH);
      if (r != 0 && (errno == ENOENT || errno == EPERM)) link_by_proc = 1; // no CAP_DAC_READ_SEARCH here
    }
    if (link_by_proc) {
      char self[64];
      snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
      r = linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
    }
    if (r == 0) break;
    int err = errno;
    if (err == EEXIST && attempt == 0 && stat(path, &st) == 0) {
      if (st.st_size == (off_t)length) { // another writer of the same chunk was first
        made = false;
        break;
      }
      if (unlink(path) == 0 || errno == ENOENT) continue; // a torn file of another size: replaced
      err = errno;
    }
    close(fd);
    return throw_errno(env, "link", err, path);
  }
  close(fd);
  napi_get_boolean(env, made, &result);
  return result;
}

void spawn_init(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  spawn_init(env, exports);
  napi_value fn;
  napi_create_function(env, "syncfs", NAPI_AUTO_LENGTH, syncfs_js, NULL, &fn);
  napi_set_named_property(env, exports, "syncfs", fn);
  napi_create_function(env, "mallocTrim", NAPI_AUTO_LENGTH, malloc_trim_js, NULL, &fn);
  napi_set_named_property(env, exports, "mallocTrim", fn);
  napi_create_function(env, "putFile", NAPI_AUTO_LENGTH, put_file_js, NULL, &fn);
  napi_set_named_property(env, exports, "putFile", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
