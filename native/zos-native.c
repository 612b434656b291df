// Calls Node has no binding for, or makes costly (issue 16):
// - syncfs(path): a Promise that settles once syncfs(2) has flushed the filesystem holding `path`.
//   The open and the flush run on libuv's thread pool (napi async work): a syncfs can block for
//   100 ms and more, and must not hold the event loop. Before, lib/durable.ts ran `sync -f PATH`,
//   which forks the whole Node process for each call.
// - mallocTrim(): glibc's malloc_trim(0), which gives the free pages inside every malloc arena back
//   to the kernel (lib/memory.ts says when the node calls it).
// - spawnCapture(file, args, env, input): a host command by posix_spawn, not a fork (spawn.c).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

void spawn_init(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  spawn_init(env, exports);
  napi_value fn;
  napi_create_function(env, "syncfs", NAPI_AUTO_LENGTH, syncfs_js, NULL, &fn);
  napi_set_named_property(env, exports, "syncfs", fn);
  napi_create_function(env, "mallocTrim", NAPI_AUTO_LENGTH, malloc_trim_js, NULL, &fn);
  napi_set_named_property(env, exports, "mallocTrim", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
