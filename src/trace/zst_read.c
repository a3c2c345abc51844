/* Reading a trace whether it is JSON Lines or zstd-compressed JSON Lines:
 * the first four bytes decide (the zstd frame magic, RFC 8878), not the
 * file's name, so a pipe or stdin works too. The stream handed to the reader
 * is a glibc cookie stream over the decompressor, in fixed-size buffers: a
 * trace of any size is read in bounded memory. */
#define _GNU_SOURCE
#include "trace_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define ZST_MAGIC 0xfd2fb528u /* little-endian 28 b5 2f fd */

struct zin {
    FILE *f;
    unsigned char head[4];     /* bytes read to look for the magic */
    size_t head_len, head_pos;
    bool zst;
    ZSTD_DCtx *dc;
    unsigned char *in;
    size_t in_cap;
    ZSTD_inBuffer ib;
    bool eof, error;
    size_t last_ret; /* ZSTD_decompressStream's last hint: 0 at a frame end */
};

/* Raw bytes of the file: the looked-at head first. */
static size_t raw_read(struct zin *z, void *buf, size_t n)
{
    size_t k = 0;
    while (k < n && z->head_pos < z->head_len)
        ((unsigned char *)buf)[k++] = z->head[z->head_pos++];
    if (k < n)
        k += fread((unsigned char *)buf + k, 1, n - k, z->f);
    return k;
}

static ssize_t zin_read(void *cookie, char *buf, size_t size)
{
    struct zin *z = cookie;
    if (!z->zst)
        return (ssize_t)raw_read(z, buf, size);
    ZSTD_outBuffer ob = { buf, size, 0 };
    while (ob.pos == 0 && !z->error) {
        if (z->ib.pos == z->ib.size) {
            if (z->eof)
                break;
            z->ib.src = z->in;
            z->ib.size = raw_read(z, z->in, z->in_cap);
            z->ib.pos = 0;
            if (z->ib.size == 0) {
                z->eof = true;
                break;
            }
        }
        size_t r = ZSTD_decompressStream(z->dc, &ob, &z->ib);
        if (ZSTD_isError(r)) {
            /* A damaged or cut frame: the text so far is what there is;
             * the reader reports a truncated last line. */
            z->error = true;
            break;
        }
        z->last_ret = r;
    }
    return (ssize_t)ob.pos;
}

static int zin_close(void *cookie)
{
    struct zin *z = cookie;
    ZSTD_freeDCtx(z->dc);
    free(z->in);
    free(z);
    return 0;
}

FILE *trace_open_input(FILE *f, const char *name, char *err, size_t errlen)
{
    struct zin *z = calloc(1, sizeof(*z));
    if (!z) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    z->f = f;
    z->head_len = fread(z->head, 1, sizeof(z->head), f);
    uint32_t magic = 0;
    if (z->head_len == 4)
        magic = (uint32_t)z->head[0] | (uint32_t)z->head[1] << 8 |
                (uint32_t)z->head[2] << 16 | (uint32_t)z->head[3] << 24;
    z->zst = magic == ZST_MAGIC;
    if (z->zst) {
        z->in_cap = ZSTD_DStreamInSize();
        z->in = malloc(z->in_cap);
        z->dc = ZSTD_createDCtx();
        if (!z->in || !z->dc) {
            zin_close(z);
            snprintf(err, errlen, "%s: out of memory", name);
            return NULL;
        }
    }
    cookie_io_functions_t io = { .read = zin_read, .close = zin_close };
    FILE *s = fopencookie(z, "r", io);
    if (!s) {
        zin_close(z);
        snprintf(err, errlen, "%s: cannot read it", name);
    }
    return s;
}
