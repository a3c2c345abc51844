/* `nvmx report TRACE --html OUT`: one self-contained page (HTML with inline
 * SVG, no script, no external file) of a trace. Everything is gathered in one
 * streaming pass in fixed memory: NBUCKETS time buckets per level whose width
 * doubles when a stamp falls past the last one, per-reason counts and
 * cycles, log2 histograms of exit cycles per reason, and merge sizes. */
#include "nvmx/trace_tools.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 200
#define NBINS 40         /* log2 bins of exit cycles: [2^i, 2^(i+1)) */
#define MERGE_BINS 65    /* fields per merge: 0..63, and 64 or more */
#define TOP_REASONS 6    /* histograms drawn */

struct report {
    uint64_t width;                        /* cycles per time bucket */
    uint64_t buckets[TRACE_MAX_LEVELS][NBUCKETS];
    bool level_seen[TRACE_MAX_LEVELS];
    uint64_t exits[TRACE_MAX_LEVELS][VMX_EXIT_MAX + 1];
    uint64_t cycles[TRACE_MAX_LEVELS][VMX_EXIT_MAX + 1];
    uint64_t hist[VMX_EXIT_MAX + 1][NBINS];
    uint64_t merges[MERGE_BINS], nmerges, merges_full;
    bool open[TRACE_MAX_LEVELS];
    uint32_t open_reason[TRACE_MAX_LEVELS];
    uint64_t open_start[TRACE_MAX_LEVELS];
    uint64_t total_exits, entries, failed, vmfails, last;
    char image[256], cpu[64], cost[64];
};

static void bucket(struct report *rp, int lv, uint64_t t)
{
    while (t / rp->width >= NBUCKETS) {
        /* Twice as wide: fold bucket pairs. */
        for (int l = 0; l < TRACE_MAX_LEVELS; l++) {
            if (!rp->level_seen[l])
                continue;
            for (int i = 0; i < NBUCKETS / 2; i++)
                rp->buckets[l][i] = rp->buckets[l][2 * i] + rp->buckets[l][2 * i + 1];
            memset(&rp->buckets[l][NBUCKETS / 2], 0, sizeof(rp->buckets[l]) / 2);
        }
        rp->width *= 2;
    }
    rp->buckets[lv][t / rp->width]++;
}

static unsigned log2_bin(uint64_t v)
{
    unsigned b = 0;
    while (v > 1 && b < NBINS - 1) {
        v >>= 1;
        b++;
    }
    return b;
}

static void close_exit(struct report *rp, int l, uint64_t end)
{
    uint64_t t = end > rp->open_start[l] ? end - rp->open_start[l] : 0;
    rp->cycles[l][rp->open_reason[l]] += t;
    rp->hist[rp->open_reason[l]][log2_bin(t)]++;
    rp->open[l] = false;
}

static bool on_header(void *ctx, const struct trace_record *r)
{
    struct report *rp = ctx;
    json_t *h = (json_t *)r->json, *cfg = json_object_get(h, "config");
    const char *img = json_string_value(json_object_get(h, "image"));
    const char *cpu = json_string_value(json_object_get(json_object_get(cfg, "cpu"), "name"));
    const char *cost = json_string_value(json_object_get(json_object_get(cfg, "cost"), "name"));
    snprintf(rp->image, sizeof(rp->image), "%s", img ? img : "-");
    snprintf(rp->cpu, sizeof(rp->cpu), "%s", cpu ? cpu : "-");
    snprintf(rp->cost, sizeof(rp->cost), "%s", cost ? cost : "-");
    return true;
}

static bool on_record(void *ctx, const struct trace_record *r)
{
    struct report *rp = ctx;
    int lv = r->level >= 0 && r->level < TRACE_MAX_LEVELS ? r->level : 0;
    rp->last = r->cycles;
    switch (r->type) {
    case TRACE_EV_vmexit:
        if (r->reason > VMX_EXIT_MAX)
            break;
        rp->level_seen[lv] = true;
        rp->total_exits++;
        rp->exits[lv][r->reason]++;
        bucket(rp, lv, r->cycles);
        rp->open[lv] = true;
        rp->open_reason[lv] = r->reason;
        rp->open_start[lv] = r->cycles > r->cost ? r->cycles - r->cost : 0;
        break;
    case TRACE_EV_vmentry:
        if (!r->ok) {
            rp->failed++;
            break;
        }
        rp->entries++;
        /* as trace stats: an entry at lv ends the exits open at lv and below */
        for (int l = 0; l <= lv; l++)
            if (rp->open[l])
                close_exit(rp, l, r->cycles + r->cost);
        break;
    case TRACE_EV_vmfail: rp->vmfails++; break;
    default:
        if (r->event && !strcmp(r->event, "merge") && r->json) {
            /* the fields written: "written" (schema 3, where "fields"
             * lists the changed ones), or every entry of "fields" before */
            json_t *w = json_object_get((json_t *)r->json, "written");
            json_int_t n = json_is_integer(w) ? json_integer_value(w)
                                              : (json_int_t)json_array_size(
                                                    json_object_get((json_t *)r->json, "fields"));
            rp->merges[n < MERGE_BINS - 1 ? n : MERGE_BINS - 1]++;
            rp->nmerges++;
            rp->merges_full += json_is_true(json_object_get((json_t *)r->json, "full"));
        }
        break;
    }
    return true;
}

/* ---- HTML and SVG ---------------------------------------------------------- */

static const char *const colours[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                       "#ff7f0e", "#8c564b", "#e377c2", "#17becf" };

static void esc(FILE *o, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '&': fputs("&amp;", o); break;
        case '"': fputs("&quot;", o); break;
        default: fputc(*s, o);
        }
}

static void svg_open(FILE *o, int w, int h, const char *title)
{
    fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\"><title>",
            w, h, w, h);
    esc(o, title);
    fputs("</title>\n", o);
}

static void exits_over_time(FILE *o, const struct report *rp)
{
    int W = 900, H = 300, L = 60, B = 40, T = 20;
    /* Draw up to the bucket of the last stamp. */
    int nb = rp->last / rp->width + 1 < NBUCKETS ? (int)(rp->last / rp->width) + 1 : NBUCKETS;
    uint64_t max = 1;
    for (int l = 0; l < TRACE_MAX_LEVELS; l++)
        for (int i = 0; i < NBUCKETS && rp->level_seen[l]; i++)
            if (rp->buckets[l][i] > max)
                max = rp->buckets[l][i];
    svg_open(o, W, H, "VM exits over time per level");
    fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", L, H - B,
            W - 10, H - B);
    fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", L, T, L,
            H - B);
    fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%llu</text>\n", 4, T + 10,
            (unsigned long long)max);
    fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"11\">0</text>\n", L - 12, H - B + 14);
    fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%llu cycles "
               "(buckets of %llu)</text>\n",
            W - 10, H - B + 28, (unsigned long long)(rp->width * (uint64_t)nb),
            (unsigned long long)rp->width);
    int shown = 0;
    for (int l = 0; l < TRACE_MAX_LEVELS; l++) {
        if (!rp->level_seen[l])
            continue;
        const char *c = colours[shown % 8];
        fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", c);
        for (int i = 0; i < nb; i++) {
            double x = L + (double)(W - 10 - L) * (i + 0.5) / nb;
            double y = (H - B) - (double)(H - B - T) * (double)rp->buckets[l][i] / (double)max;
            fprintf(o, "%s%.1f,%.1f", i ? " " : "", x, y);
        }
        fputs("\"/>\n", o);
        fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">L%d</text>\n",
                W - 60, T + 14 * (shown + 1), c, l);
        shown++;
    }
    if (!shown)
        fprintf(o, "<text x=\"%d\" y=\"%d\">no VM exits</text>\n", W / 2 - 40, H / 2);
    fputs("</svg>\n", o);
}

struct row {
    int level;
    unsigned reason;
    uint64_t exits, cycles;
};

static int cmp_rows(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->exits != y->exits)
        return x->exits > y->exits ? -1 : 1;
    if (x->level != y->level)
        return x->level - y->level;
    return (int)x->reason - (int)y->reason;
}

static void per_reason(FILE *o, const struct row *rows, unsigned n)
{
    unsigned shown = n < 25 ? n : 25;
    int W = 900, bar = 16, H = 40 + (int)shown * (bar + 4), L = 230, mid = 560;
    uint64_t maxe = 1, maxc = 1;
    for (unsigned i = 0; i < shown; i++) {
        maxe = rows[i].exits > maxe ? rows[i].exits : maxe;
        maxc = rows[i].cycles > maxc ? rows[i].cycles : maxc;
    }
    svg_open(o, W, H, "VM exits and exit cycles per level and reason");
    fprintf(o, "<text x=\"%d\" y=\"14\" font-size=\"12\">exits</text><text x=\"%d\" y=\"14\" "
               "font-size=\"12\">exit cycles</text>\n",
            L, mid + 10);
    for (unsigned i = 0; i < shown; i++) {
        int y = 24 + (int)i * (bar + 4);
        double we = (double)(mid - L - 70) * (double)rows[i].exits / (double)maxe;
        double wc = (double)(W - mid - 90) * (double)rows[i].cycles / (double)maxc;
        fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">L%d %s</text>\n",
                L - 6, y + 12, rows[i].level, vmx_exit_reason_name(rows[i].reason));
        fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%llu</text>\n",
                L, y, we, bar, colours[0], L + we + 4, y + 12,
                (unsigned long long)rows[i].exits);
        fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                   "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%llu</text>\n",
                mid + 10, y, wc, bar, colours[1], mid + 10 + wc + 4, y + 12,
                (unsigned long long)rows[i].cycles);
    }
    if (!shown)
        fputs("<text x=\"20\" y=\"30\">no VM exits</text>\n", o);
    fputs("</svg>\n", o);
}

static void histogram(FILE *o, const uint64_t *bins, unsigned nbins, const char *title,
                      const char *xlabel, bool log2_labels)
{
    int W = 430, H = 200, L = 40, B = 40, T = 24;
    uint64_t max = 1;
    unsigned lo = nbins, hi = 0;
    for (unsigned i = 0; i < nbins; i++)
        if (bins[i]) {
            max = bins[i] > max ? bins[i] : max;
            lo = i < lo ? i : lo;
            hi = i;
        }
    svg_open(o, W, H, title);
    fprintf(o, "<text x=\"%d\" y=\"14\" font-size=\"12\">", L);
    esc(o, title);
    fputs("</text>\n", o);
    if (lo > hi) {
        fputs("<text x=\"40\" y=\"80\">none</text></svg>\n", o);
        return;
    }
    unsigned n = hi - lo + 1;
    double bw = (double)(W - L - 10) / n;
    for (unsigned i = 0; i < n; i++) {
        double h = (double)(H - B - T) * (double)bins[lo + i] / (double)max;
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                   "<title>%llu</title></rect>\n",
                L + i * bw, (H - B) - h, bw > 2 ? bw - 1 : bw, h, colours[2],
                (unsigned long long)bins[lo + i]);
    }
    fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s%u</text>", L, H - B + 12,
            log2_labels ? "2^" : "", lo);
    fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%s%u</text>",
            W - 10, H - B + 12, log2_labels ? "2^" : "", hi);
    fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"11\">", L, H - B + 28);
    esc(o, xlabel);
    fprintf(o, "</text><text x=\"2\" y=\"%d\" font-size=\"10\">%llu</text></svg>\n", T + 8,
            (unsigned long long)max);
}

static void write_html(FILE *o, const struct report *rp, const char *name)
{
    static struct row rows[TRACE_MAX_LEVELS * (VMX_EXIT_MAX + 1)];
    unsigned n = 0;
    for (int l = 0; l < TRACE_MAX_LEVELS; l++)
        for (unsigned r = 0; r <= VMX_EXIT_MAX; r++)
            if (rp->exits[l][r])
                rows[n++] = (struct row){ l, r, rp->exits[l][r], rp->cycles[l][r] };
    qsort(rows, n, sizeof(rows[0]), cmp_rows);

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>nvmx "
          "report: ",
          o);
    esc(o, name);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:20px;max-width:960px}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
          "text-align:right}th{background:#eee}.small{display:inline-block}</style>\n"
          "</head><body>\n<h1>nvmx trace report</h1>\n<table>\n",
          o);
    const char *keys[] = { "trace", "image", "CPU model", "cost model" };
    const char *vals[] = { name, rp->image, rp->cpu, rp->cost };
    for (int i = 0; i < 4; i++) {
        fprintf(o, "<tr><th>%s</th><td>", keys[i]);
        esc(o, vals[i]);
        fputs("</td></tr>\n", o);
    }
    fprintf(o, "<tr><th>VM exits</th><td>%llu</td></tr><tr><th>VM entries</th><td>%llu"
               "</td></tr><tr><th>failed entries</th><td>%llu</td></tr><tr><th>VMfail</th>"
               "<td>%llu</td></tr><tr><th>merges</th><td>%llu (%llu full)</td></tr>"
               "<tr><th>last cycle stamp</th><td>%llu</td></tr>\n</table>\n",
            (unsigned long long)rp->total_exits, (unsigned long long)rp->entries,
            (unsigned long long)rp->failed, (unsigned long long)rp->vmfails,
            (unsigned long long)rp->nmerges, (unsigned long long)rp->merges_full,
            (unsigned long long)rp->last);
    fputs("<h2>VM exits over time, per level</h2>\n", o);
    exits_over_time(o, rp);
    fputs("<h2>VM exits and exit cycles per level and reason</h2>\n<p>Exit cycles run from "
          "the start of a VM exit to the next VM entry at its level or a deeper one "
          "(docs/cli.md, trace stats).</p>\n",
          o);
    per_reason(o, rows, n);
    fputs("<h2>Cycles per exit</h2>\n<p>Histograms of the exit cycles of the busiest "
          "reasons, in log2 bins.</p>\n",
          o);
    unsigned done[TOP_REASONS], nd = 0;
    for (unsigned i = 0; i < n && nd < TOP_REASONS; i++) {
        bool dup = false;
        for (unsigned k = 0; k < nd; k++)
            dup |= done[k] == rows[i].reason;
        if (dup)
            continue;
        done[nd++] = rows[i].reason;
        char title[96];
        snprintf(title, sizeof(title), "%s (all levels)", vmx_exit_reason_name(rows[i].reason));
        fputs("<div class=\"small\">", o);
        histogram(o, rp->hist[rows[i].reason], NBINS, title, "cycles per exit (log2)", true);
        fputs("</div>\n", o);
    }
    if (!nd)
        fputs("<p>No VM exits.</p>\n", o);
    fputs("<h2>Merge sizes</h2>\n", o);
    if (rp->nmerges)
        histogram(o, rp->merges, MERGE_BINS, "fields written per vmcs02 merge",
                  "fields per merge (last bin: 64 or more)", false);
    else
        fputs("<p>No merge events (a bare-mode run, or no nested entries).</p>\n", o);
    fputs("</body></html>\n", o);
}

bool trace_report_html(FILE *in, const char *name, FILE *out, FILE *diag,
                       struct trace_read_result *res)
{
    struct report *rp = calloc(1, sizeof(*rp));
    if (!rp)
        return false;
    rp->width = 1;
    struct trace_read_fns fns = { .header = on_header, .record = on_record };
    bool ok = trace_read_fns(in, name, &fns, rp, diag, res);
    if (ok)
        write_html(out, rp, name);
    free(rp);
    return ok && !ferror(out);
}
