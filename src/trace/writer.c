/* The trace writer. The CPU's thread copies each event, as it is, into a
 * chunk; full chunks go through a bounded queue to a writer thread that
 * formats them (src/trace/format.c), compresses them for a .zst file, and
 * writes large blocks. The CPU never waits on the disk, and when every chunk
 * is queued it waits for one to come back: no event is ever dropped, and the
 * memory is bounded whatever the length of the run. */
#include "trace_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNK_SIZE (256u << 10)  /* bytes of raw events per chunk */
#define NCHUNKS 8                /* chunks in flight: the queue's bound */
#define OUT_BLOCK (1u << 20)     /* formatted bytes per write */
#define ZSTD_LEVEL 1             /* fastest: the writer thread keeps up */

struct chunk {
    size_t len;
    _Alignas(8) unsigned char data[CHUNK_SIZE];
};

/* Each record in a chunk: this head, then the event (struct trace_event's
 * first trace_event_size[type] bytes, then the entries of its WRITES keys)
 * or the text; the next record starts 8-byte aligned. */
struct record {
    uint32_t raw; /* 1: preformatted text (the header) */
    uint32_t len; /* bytes after the head */
};

#define PAD8(n) (((n) + 7) & ~(size_t)7)

struct trace_writer {
    /* the CPU's side */
    struct chunk *cur;
    bool fail_reported;
    bool has_log[TRACE_EV_COUNT]; /* the event has WRITES keys */
    void (*on_fail)(void *ctx);
    void *on_fail_ctx;

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t work;   /* the writer thread waits for chunks */
    pthread_cond_t done;   /* the CPU waits for a free chunk or a flush */
    struct chunk *full[NCHUNKS];
    unsigned full_head, full_count;
    struct chunk *free_chunks[NCHUNKS];
    unsigned free_count;
    uint64_t flush_asked, flush_done;
    bool stop;
    atomic_bool failed;    /* a write failed: set by the writer thread */
    int write_errno;

    /* the writer thread's side */
    pthread_t thread;
    bool thread_started;
    struct trace_buf out;  /* formatted JSON Lines */
    struct trace_fmt *fmt;
    ZSTD_CCtx *zc;         /* NULL: plain JSON Lines */
    struct trace_buf zout;
    int fd;                /* -1: write to stream (or, before the start, nowhere) */
    bool started;          /* the file is open: trace_writer_start */
    char *path;            /* the file to create at the start */
    FILE *stream;
    bool owned;            /* close fd at the end */
    bool truncatable;      /* a regular file we opened: cut back to a line end */
    off_t written;         /* bytes written to the file */
    off_t line_end;        /* offset just after the last complete line written */
    char name[256];
};

/* ---- the writer thread -------------------------------------------------- */

static void fail(struct trace_writer *w, int err)
{
    if (atomic_load(&w->failed))
        return;
    w->write_errno = err ? err : EIO;
    atomic_store(&w->failed, true);
}

/* Write n bytes to the file; false (and the writer failed) if it could not. */
static bool sink(struct trace_writer *w, const char *p, size_t n, bool plain)
{
    if (atomic_load(&w->failed))
        return false;
    if (w->fd < 0 && !w->stream)
        return true; /* not started: nothing may be written */
    size_t done = 0;
    if (w->fd < 0) {
        done = fwrite(p, 1, n, w->stream);
        if (done != n) {
            fail(w, errno);
            return false;
        }
    }
    while (done < n && w->fd >= 0) {
        ssize_t k = write(w->fd, p + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fail(w, k < 0 ? errno : ENOSPC);
            break;
        }
        done += (size_t)k;
    }
    if (plain) {
        /* the last newline that reached the file */
        for (size_t i = done; i > 0; i--)
            if (p[i - 1] == '\n') {
                w->line_end = w->written + (off_t)i;
                break;
            }
    }
    w->written += (off_t)done;
    if (done < n && w->truncatable && plain) {
        /* A full disk: keep the file readable to its last complete line. */
        if (ftruncate(w->fd, w->line_end) != 0)
            (void)0; /* the reader then reports a partial last line */
    }
    return done == n;
}

/* Compress or write the formatted bytes; mode: ZSTD_e_continue, _flush, _end. */
static void drain(struct trace_writer *w, ZSTD_EndDirective mode)
{
    if (!w->zc) {
        sink(w, w->out.p, w->out.len, true);
        w->out.len = 0;
        return;
    }
    ZSTD_inBuffer in = { w->out.p, w->out.len, 0 };
    for (;;) {
        ZSTD_outBuffer o = { w->zout.p, w->zout.cap, 0 };
        size_t left = ZSTD_compressStream2(w->zc, &o, &in, mode);
        if (ZSTD_isError(left)) {
            fail(w, EIO);
            break;
        }
        if (o.pos)
            sink(w, w->zout.p, o.pos, false);
        if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0)
            break;
    }
    w->out.len = 0;
}

static void format_chunk(struct trace_writer *w, const struct chunk *c)
{
    size_t at = 0;
    while (at < c->len) {
        struct record r;
        memcpy(&r, c->data + at, sizeof(r));
        const unsigned char *p = c->data + at + sizeof(r);
        if (r.raw) {
            if (trace_buf_reserve(&w->out, r.len)) {
                memcpy(w->out.p + w->out.len, p, r.len);
                w->out.len += r.len;
            }
        } else {
            trace_format_event(&w->out, (const struct trace_event *)(const void *)p, w->fmt);
        }
        at += PAD8(sizeof(r) + r.len);
        if (w->out.oom)
            fail(w, ENOMEM);
        if (w->out.len >= OUT_BLOCK)
            drain(w, ZSTD_e_continue);
    }
}

static void *writer_thread(void *arg)
{
    struct trace_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->full_count) {
            struct chunk *c = w->full[w->full_head];
            w->full_head = (w->full_head + 1) % NCHUNKS;
            w->full_count--;
            pthread_mutex_unlock(&w->mu);
            format_chunk(w, c);
            c->len = 0;
            pthread_mutex_lock(&w->mu);
            w->free_chunks[w->free_count++] = c;
            pthread_cond_broadcast(&w->done);
        } else if (w->flush_done < w->flush_asked || w->stop) {
            uint64_t asked = w->flush_asked;
            bool stop = w->stop;
            pthread_mutex_unlock(&w->mu);
            drain(w, stop ? ZSTD_e_end : ZSTD_e_flush);
            if (w->fd < 0 && !atomic_load(&w->failed) && fflush(w->stream) == EOF)
                fail(w, errno);
            pthread_mutex_lock(&w->mu);
            w->flush_done = asked;
            pthread_cond_broadcast(&w->done);
            if (stop)
                break;
        } else {
            pthread_cond_wait(&w->work, &w->mu);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- the CPU's side ------------------------------------------------------ */

/* Hand the current chunk to the writer thread and take a free one, waiting
 * for it if all are queued. */
static void submit(struct trace_writer *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->cur->len) {
        w->full[(w->full_head + w->full_count) % NCHUNKS] = w->cur;
        w->full_count++;
        pthread_cond_signal(&w->work);
        while (!w->free_count)
            pthread_cond_wait(&w->done, &w->mu);
        w->cur = w->free_chunks[--w->free_count];
    }
    pthread_mutex_unlock(&w->mu);
    if (atomic_load_explicit(&w->failed, memory_order_relaxed) && !w->fail_reported) {
        w->fail_reported = true;
        if (w->on_fail)
            w->on_fail(w->on_fail_ctx);
    }
}

/* Room for a record of n bytes in the current chunk. */
static unsigned char *reserve(struct trace_writer *w, size_t n, bool raw)
{
    if (w->cur->len + PAD8(sizeof(struct record) + n) > CHUNK_SIZE)
        submit(w);
    struct record r = { raw, (uint32_t)n };
    memcpy(w->cur->data + w->cur->len, &r, sizeof(r));
    unsigned char *p = w->cur->data + w->cur->len + sizeof(r);
    w->cur->len += PAD8(sizeof(r) + n);
    return p;
}

/* An event with WRITES keys: the entries follow the event in the record,
 * and the copy's pointers point at them. A log holds at most a few hundred
 * entries (two per VMCS field), far below a chunk. */
static void write_with_log(struct trace_writer *w, const struct trace_event *ev, size_t n)
{
    size_t total = n;
    for (unsigned i = trace_event_row[ev->type] + 1;
         i < trace_nrows && trace_rows[i].kind == TRACE_ROW_FIELD; i++) {
        const struct trace_row *row = &trace_rows[i];
        if (row->type == TRACE_T_WRITES || row->type == TRACE_T_WRITES_ORIGIN) {
            const struct trace_vmcs_log *log =
                (const struct trace_vmcs_log *)(const void *)((const char *)ev + row->offset);
            total = PAD8(total) + log->n * sizeof(struct trace_vmcs_write);
        }
    }
    unsigned char *p = reserve(w, total, false);
    memcpy(p, ev, n);
    size_t at = n;
    for (unsigned i = trace_event_row[ev->type] + 1;
         i < trace_nrows && trace_rows[i].kind == TRACE_ROW_FIELD; i++) {
        const struct trace_row *row = &trace_rows[i];
        if (row->type != TRACE_T_WRITES && row->type != TRACE_T_WRITES_ORIGIN)
            continue;
        struct trace_vmcs_log *log = (struct trace_vmcs_log *)(void *)(p + row->offset);
        at = PAD8(at);
        size_t bytes = log->n * sizeof(struct trace_vmcs_write);
        if (bytes)
            memcpy(p + at, log->w, bytes);
        log->w = (const struct trace_vmcs_write *)(const void *)(p + at);
        at += bytes;
    }
}

void trace_write_event(void *ctx, const struct trace_event *ev)
{
    struct trace_writer *w = ctx;
    if ((unsigned)ev->type >= TRACE_EV_COUNT)
        return;
    size_t n = trace_event_size[ev->type];
    if (w->has_log[ev->type]) {
        write_with_log(w, ev, n);
        return;
    }
    size_t padded = PAD8(sizeof(struct record) + n);
    if (w->cur->len + padded > CHUNK_SIZE)
        submit(w);
    unsigned char *p = w->cur->data + w->cur->len;
    struct record r = { 0, (uint32_t)n };
    memcpy(p, &r, sizeof(r));
    memcpy(p + sizeof(r), ev, n);
    w->cur->len += padded;
}

/* Queue preformatted text (the header), in records that fit a chunk. */
static void write_raw(struct trace_writer *w, const char *p, size_t n)
{
    while (n) {
        size_t max = CHUNK_SIZE - sizeof(struct record);
        size_t k = n < max ? n : max;
        memcpy(reserve(w, k, true), p, k);
        p += k;
        n -= k;
    }
}

bool trace_write_header(struct trace_writer *w, const struct trace_header *h)
{
    struct trace_buf b = { 0 };
    trace_format_header(&b, h);
    bool ok = !b.oom;
    write_raw(w, b.p, b.len);
    trace_buf_free(&b);
    return ok && !atomic_load(&w->failed);
}

void trace_writer_flush(struct trace_writer *w)
{
    if (!w)
        return;
    submit(w);
    pthread_mutex_lock(&w->mu);
    uint64_t asked = ++w->flush_asked;
    pthread_cond_signal(&w->work);
    while (w->flush_done < asked)
        pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void trace_writer_on_failure(struct trace_writer *w, void (*fn)(void *ctx), void *ctx)
{
    w->on_fail = fn;
    w->on_fail_ctx = ctx;
}

bool trace_writer_failed(const struct trace_writer *w)
{
    return w && atomic_load(&((struct trace_writer *)w)->failed);
}

static void writer_free(struct trace_writer *w)
{
    for (unsigned i = 0; i < w->free_count; i++)
        free(w->free_chunks[i]);
    free(w->cur);
    trace_buf_free(&w->out);
    trace_buf_free(&w->zout);
    trace_fmt_free(w->fmt);
    free(w->path);
    ZSTD_freeCCtx(w->zc);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    free(w);
}

static struct trace_writer *writer_new(int fd, FILE *stream, const char *name, bool zst,
                                       char *err, size_t errlen)
{
    struct trace_writer *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "--trace: out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    atomic_init(&w->failed, false);
    w->fd = fd;
    w->stream = stream;
    for (unsigned i = 0; i < trace_nrows; i++)
        if (trace_rows[i].type == TRACE_T_WRITES || trace_rows[i].type == TRACE_T_WRITES_ORIGIN)
            w->has_log[trace_rows[i].event] = true;
    snprintf(w->name, sizeof(w->name), "%s", name);
    bool ok = (w->cur = malloc(sizeof(struct chunk))) != NULL;
    if (ok)
        w->cur->len = 0;
    for (unsigned i = 0; ok && i < NCHUNKS - 1; i++) {
        struct chunk *c = malloc(sizeof(*c));
        ok = c != NULL;
        if (ok) {
            c->len = 0;
            w->free_chunks[w->free_count++] = c;
        }
    }
    ok = ok && trace_buf_reserve(&w->out, OUT_BLOCK + (64u << 10));
    ok = ok && (w->fmt = trace_fmt_new()) != NULL;
    if (ok && zst) {
        ok = (w->zc = ZSTD_createCCtx()) != NULL &&
             !ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL)) &&
             !ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1)) &&
             trace_buf_reserve(&w->zout, ZSTD_CStreamOutSize());
    }
    if (!ok) {
        snprintf(err, errlen, "--trace: out of memory");
        writer_free(w);
        return NULL;
    }
    if (pthread_create(&w->thread, NULL, writer_thread, w) != 0) {
        snprintf(err, errlen, "--trace: cannot start the writer thread");
        writer_free(w);
        return NULL;
    }
    w->thread_started = true;
    return w;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Whether path could be created or rewritten, without touching it. */
static bool writable(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "--trace: cannot write '%s': it is a directory", path);
            return false;
        }
        if (access(path, W_OK) != 0) {
            snprintf(err, errlen, "--trace: cannot open '%s': %s", path, strerror(errno));
            return false;
        }
        return true;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    if (access(slash ? dir : ".", W_OK | X_OK) != 0) {
        snprintf(err, errlen, "--trace: cannot open '%s': %s", path, strerror(errno));
        return false;
    }
    return true;
}

struct trace_writer *trace_writer_open(const char *path, char *err, size_t errlen)
{
    bool is_stdout = !strcmp(path, "-");
    if (!is_stdout && !writable(path, err, errlen))
        return NULL;
    if (is_stdout)
        fflush(stdout); /* what was printed before comes first */
    struct trace_writer *w = writer_new(-1, NULL, path, !is_stdout && has_suffix(path, ".zst"),
                                        err, errlen);
    if (!w)
        return NULL;
    if (is_stdout) {
        w->fd = STDOUT_FILENO;
        w->started = true;
    } else if (!(w->path = strdup(path))) {
        snprintf(err, errlen, "--trace: out of memory");
        trace_writer_close(w, err, errlen);
        return NULL;
    }
    return w;
}

bool trace_writer_start(struct trace_writer *w, char *err, size_t errlen)
{
    if (!w || w->started)
        return true;
    int fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, errlen, "--trace: cannot open '%s': %s", w->path, strerror(errno));
        return false;
    }
    struct stat st;
    pthread_mutex_lock(&w->mu); /* the writer thread reads these under mu */
    w->fd = fd;
    w->owned = true;
    w->truncatable = !w->zc && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    w->started = true;
    pthread_mutex_unlock(&w->mu);
    return true;
}

struct trace_writer *trace_writer_from_stream(FILE *f, const char *name)
{
    char err[64];
    struct trace_writer *w = writer_new(-1, f, name, false, err, sizeof(err));
    if (w)
        w->started = true;
    return w;
}

bool trace_writer_close(struct trace_writer *w, char *err, size_t errlen)
{
    if (!w)
        return true;
    if (w->started)
        submit(w);
    else
        w->cur->len = 0; /* the run never started: leave the file alone */
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    if (w->owned && close(w->fd) != 0)
        fail(w, errno);
    bool ok = !atomic_load(&w->failed);
    if (!ok)
        snprintf(err, errlen, "--trace: writing '%s' failed: %s", w->name,
                 strerror(w->write_errno));
    writer_free(w);
    return ok;
}
