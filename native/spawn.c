// spawnCapture(file, args, env, input): a short host command with its output captured, for the
// node's host commands (node/host/exec.ts). Node's child_process forks the whole process (libuv
// 1.46 on Linux), and a fork copies the page tables of a ~100 MB daemon: 9-16 ms a command on a
// paravirtualised VM where page faults are dear, against ~2.5 ms for posix_spawn (vfork: the
// child shares the parent's memory until it execs). A deployment runs several btrfs commands, so
// that was most of its deploy -> ok time.
//
// The spawn itself runs on the caller's thread (posix_spawn returns once the child has exec'd or
// failed, so ENOENT and the like throw at once, as node:fs errors with syscall "spawn"). A thread
// of its own per command then writes `input` to the child's stdin, reads stdout and stderr to
// their ends, waits for the exit and hands the result to JavaScript through a threadsafe
// function, which keeps the event loop alive meanwhile (as a running child_process does). Not
// libuv's thread pool: a command may run for a minute, and four of them would stall every fs call.
//
// kill(signal) signals the child until the thread has seen it exit; the thread reaps it only
// after that (waitid with WNOWAIT, then the flag, under a lock), so a kill never reaches a pid
// the kernel has given to another process.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <node_api.h>

napi_value throw_errno(napi_env env, const char *syscall, int err, const char *path); // zos-native.c

typedef struct {
  char *data;
  size_t len, cap;
} Bytes;

typedef struct {
  pid_t pid;
  pthread_mutex_t lock;
  bool exited;  // seen exiting (not yet reaped) or reaped: kill() does nothing from then on
  int refs;     // the thread and the JS handle; the last one frees
  int in_fd, out_fd, err_fd;
  char *input;
  size_t input_len;
  Bytes out, err;
  int status;
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
} Child;

static void unref(Child *c) {
  pthread_mutex_lock(&c->lock);
  int left = --c->refs;
  pthread_mutex_unlock(&c->lock);
  if (left > 0) return;
  pthread_mutex_destroy(&c->lock);
  free(c->input);
  free(c->out.data);
  free(c->err.data);
  free(c);
}

static bool append(Bytes *b, const char *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return false;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return true;
}

// The child's stdin, stdout and stderr until all three are done, then its exit.
static void *watch(void *arg) {
  Child *c = arg;
  size_t written = 0;
  char buf[65536];
  while (c->in_fd >= 0 || c->out_fd >= 0 || c->err_fd >= 0) {
    struct pollfd p[3] = {{c->in_fd, POLLOUT, 0}, {c->out_fd, POLLIN, 0}, {c->err_fd, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (c->in_fd >= 0 && p[0].revents) {
      ssize_t n = (p[0].revents & POLLOUT) ? write(c->in_fd, c->input + written, c->input_len - written) : -1;
      if (n > 0) written += (size_t)n;
      if ((n < 0 && errno != EINTR && errno != EAGAIN) || written == c->input_len) { // done, or EPIPE: it reads no more
        close(c->in_fd);
        c->in_fd = -1;
      }
    }
    int *fds[2] = {&c->out_fd, &c->err_fd};
    Bytes *into[2] = {&c->out, &c->err};
    for (int i = 0; i < 2; i++) {
      if (*fds[i] < 0 || !p[i + 1].revents) continue;
      ssize_t n = read(*fds[i], buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0 || !append(into[i], buf, (size_t)n)) {
        close(*fds[i]);
        *fds[i] = -1;
      }
    }
  }
  siginfo_t info;
  while (waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  pthread_mutex_lock(&c->lock);
  c->exited = true;
  pthread_mutex_unlock(&c->lock);
  while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR) {
  }
  // Nothing of c after the call: deliver may run on the JS thread at once and free it (its unref
  // is the last one when the handle is already gone). Reading c->tsfn for the release afterwards
  // was a use after free: under load node aborted in napi_release_threadsafe_function (func null).
  napi_threadsafe_function tsfn = c->tsfn;
  napi_call_threadsafe_function(tsfn, c, napi_tsfn_blocking);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

static napi_value buffer_of(napi_env env, const Bytes *b) {
  napi_value v;
  void *data;
  napi_create_buffer_copy(env, b->len, b->len ? b->data : "", &data, &v);
  return v;
}

// On the JS thread: { exitCode, signal } (one of them null) with stdout and stderr as Buffers.
static void deliver(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  Child *c = data;
  if (env) {
    napi_value result, v;
    napi_create_object(env, &result);
    if (WIFEXITED(c->status)) napi_create_int32(env, WEXITSTATUS(c->status), &v);
    else napi_get_null(env, &v);
    napi_set_named_property(env, result, "exitCode", v);
    if (WIFSIGNALED(c->status)) napi_create_int32(env, WTERMSIG(c->status), &v);
    else napi_get_null(env, &v);
    napi_set_named_property(env, result, "signal", v);
    napi_set_named_property(env, result, "stdout", buffer_of(env, &c->out));
    napi_set_named_property(env, result, "stderr", buffer_of(env, &c->err));
    napi_resolve_deferred(env, c->deferred, result);
  }
  unref(c);
}

static napi_value kill_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, external;
  napi_get_cb_info(env, info, &argc, argv, &self, NULL);
  int32_t sig = SIGTERM;
  if (argc >= 1) napi_get_value_int32(env, argv[0], &sig);
  Child *c = NULL;
  napi_get_named_property(env, self, "handle", &external);
  napi_get_value_external(env, external, (void **)&c);
  bool sent = false;
  if (c) {
    pthread_mutex_lock(&c->lock);
    if (!c->exited) sent = kill(c->pid, sig) == 0;
    pthread_mutex_unlock(&c->lock);
  }
  napi_value r;
  napi_get_boolean(env, sent, &r);
  return r;
}

static void handle_gone(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  unref(data);
}

static void free_strings(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

// A JS string, or an array of them, into malloc'd C strings; NULL (a TypeError thrown) otherwise.
static char *c_string(napi_env env, napi_value v) {
  size_t len = 0;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) return NULL;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { // an embedded NUL would cut the argument short
    free(s);
    return NULL;
  }
  return s;
}

static char **c_strings(napi_env env, napi_value arr, const char *first) {
  bool is = false;
  napi_is_array(env, arr, &is);
  if (!is) return NULL;
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  size_t off = first ? 1 : 0;
  char **v = calloc(n + off + 1, sizeof *v);
  if (!v) return NULL;
  if (first && !(v[0] = strdup(first))) return free(v), NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, arr, i, &e);
    if (!(v[i + off] = c_string(env, e))) return free_strings(v), NULL;
  }
  return v;
}

static napi_value spawn_js(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *file = argc >= 3 ? c_string(env, argv[0]) : NULL;
  char **args = file ? c_strings(env, argv[1], file) : NULL;
  char **envp = args ? c_strings(env, argv[2], NULL) : NULL;
  if (!envp) {
    free(file);
    free_strings(args);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "spawnCapture: takes (file, args: string[], env: string[], input?: Uint8Array), strings without NUL bytes");
    return NULL;
  }
  Child *c = calloc(1, sizeof *c);
  bool typed = false;
  if (argc >= 4) napi_is_typedarray(env, argv[3], &typed);
  if (c && typed) {
    void *data;
    napi_get_typedarray_info(env, argv[3], NULL, &c->input_len, &data, NULL, NULL);
    c->input = malloc(c->input_len ? c->input_len : 1);
    if (c->input) memcpy(c->input, data, c->input_len);
  }
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  int fail = 0;
  const char *syscall = "pipe";
  if (!c || (typed && !c->input)) fail = ENOMEM;
  else if ((typed && pipe2(in, O_CLOEXEC) != 0) || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) fail = errno;
  if (!fail) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    // As libuv's children: every signal at its default (Node ignores SIGPIPE) and none blocked.
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (typed) posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    syscall = "spawn";
    fail = posix_spawnp(&c->pid, file, &fa, &attr, args, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  // The child's ends are its own now (or no child came).
  int child_ends[3] = {in[0], out[1], err[1]};
  for (int i = 0; i < 3; i++) if (child_ends[i] >= 0) close(child_ends[i]);
  free_strings(envp);
  free_strings(args);
  if (fail) {
    int parent_ends[3] = {in[1], out[0], err[0]};
    for (int i = 0; i < 3; i++) if (parent_ends[i] >= 0) close(parent_ends[i]);
    if (c) free(c->input);
    free(c);
    throw_errno(env, syscall, fail, file);
    free(file);
    return NULL;
  }
  free(file);
  if (typed) fcntl(in[1], F_SETFL, O_NONBLOCK); // a large input must not block the thread's reads
  c->in_fd = typed ? in[1] : -1;
  c->out_fd = out[0];
  c->err_fd = err[0];
  c->refs = 2;
  pthread_mutex_init(&c->lock, NULL);
  napi_value promise, name, handle, result, kill_fn, pid;
  napi_create_promise(env, &c->deferred, &promise);
  napi_create_string_utf8(env, "zos:spawnCapture", NAPI_AUTO_LENGTH, &name);
  napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, deliver, &c->tsfn);
  napi_create_external(env, c, handle_gone, NULL, &handle);
  pthread_t thread;
  pthread_attr_t ta;
  pthread_attr_init(&ta);
  pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&ta, 256 * 1024);
  if (pthread_create(&thread, &ta, watch, c) != 0) watch(c); // no thread: wait here (never seen)
  pthread_attr_destroy(&ta);
  napi_create_object(env, &result);
  napi_create_int32(env, c->pid, &pid);
  napi_set_named_property(env, result, "pid", pid);
  napi_set_named_property(env, result, "done", promise);
  napi_set_named_property(env, result, "handle", handle);
  napi_create_function(env, "kill", NAPI_AUTO_LENGTH, kill_js, NULL, &kill_fn);
  napi_set_named_property(env, result, "kill", kill_fn);
  return result;
}

void spawn_init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "spawnCapture", NAPI_AUTO_LENGTH, spawn_js, NULL, &fn);
  napi_set_named_property(env, exports, "spawnCapture", fn);
}
