/* vsrife native kernels: fused bilinear warps for the CPU fast path of the v4 networks (see vsrife/native/__init__.py).
 *
 * warp_pairs: backward-warps two frames (and their features) by their flows and writes the result channels_last,
 * optionally averaged over the 2x2 samples that a 1/k bilinear downscale reads. Same arithmetic as
 * F.grid_sample(mode="bilinear", padding_mode="border", align_corners=True) on the grid base + flow / div.
 *
 *   src   frame f (0, 1) at src + f*H*W*CS: channels_last [H][W][CS], CS a multiple of 4 >= C (padding read, unused)
 *   flow  a field: the sum of NT terms, each a coarse map [4][h][w] (fx0, fy0, fx1, fy1, in pixels) times mul,
 *         bilinearly upscaled by its factor (F.interpolate(scale_factor=f, align_corners=False); inv = 1 / f).
 *         It is evaluated at the full-resolution pixels the samples need: k = 1: every pixel; k >= 2: rows
 *         k*i + k/2 - 1 and k*i + k/2 (likewise columns), the pixels a 1/k bilinear downscale averages
 *   bx,by the normalised base grid (torch.linspace(-1, 1, W) and (.., H)); idx_, idy_ = 2 / (W - 1), 2 / (H - 1)
 *   out   [H/k][W/k][OS], fp32 or (bf16 = 1) bfloat16: channels 0..C-1 frame 0, C..2C-1 frame 1, then the NC
 *         values consts, then the E planes extra [E][H/k][W/k] (NCHW), then (fscale != 0) the
 *         flow's 4 channels averaged like the frames, times fscale; OS = 2C + NC + E (+ 4)
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* fp32 -> bf16, round to nearest even (as torch), NaN stays NaN; branch-free, so that loops over it vectorise */
static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? ((u >> 16) | 0x40u) : r);
}

/* n values fp32 -> bf16 */
static void row_bf16(uint16_t *restrict o, const float *restrict v, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = to_bf16(v[i]);
}

#define MAXT 8  /* terms of a field */

/* One axis of F.interpolate(bilinear, align_corners=False) upscaling by 1/inv: source index, its right (or lower)
   neighbour (clamped) and the weight of the full-resolution positions first + i * step (i < n), for a coarse axis of
   m pixels. */
static void axis(int m, float inv, int first, int step, int n, int *i0, int *i1, float *l) {
    for (int i = 0; i < n; i++) {
        float s = ((float)(first + i * step) + 0.5f) * inv - 0.5f;
        if (s < 0.f) s = 0.f;
        int a = (int)s;
        if (a > m - 1) a = m - 1;
        i0[i] = a;
        i1[i] = a < m - 1 ? a + 1 : a;
        l[i] = fminf(fmaxf(s - (float)a, 0.f), 1.f);
    }
}

typedef struct {
    int nt, c;
    const float *const *data;  /* [nt] -> [c][h][w] */
    const int *dims;           /* [nt][2]: h, w */
    const float *sc;           /* [nt][2]: inv, mul */
} field_t;

/* A field evaluated at full-resolution rows, at the columns first + i * step (i < n). Each coarse row a term needs
   is upscaled along x once (the separable bilinear kernel: x first, then y) and kept while later rows need it:
   a thread walks its rows in order, so a row of a term upscaled by f serves about f rows. */
typedef struct {
    const field_t *F;
    int first, step, n;
    int *x0, *x1;    /* [nt][n] */
    float *lx;       /* [nt][n] */
    int *yc;         /* [nt][2]: the coarse rows held, -1 none */
    float *rows;     /* [nt][2][c][n]: those rows upscaled along x, times mul */
} fieldrows_t;

static size_t fieldrows_floats(const field_t *F, int n) { return (size_t)F->nt * n * (4 + 2 * F->c); }

/* Set up in a buffer of fieldrows_floats() floats (4-byte ints share it). */
static void fieldrows_init(fieldrows_t *R, const field_t *F, int first, int step, int n, float *buf) {
    const size_t tn = (size_t)F->nt * n;
    R->F = F; R->first = first; R->step = step; R->n = n;
    R->x0 = (int *)buf; R->x1 = R->x0 + tn; R->lx = buf + 2 * tn; R->yc = (int *)(buf + 3 * tn);
    R->rows = buf + 4 * tn;
    for (int t = 0; t < F->nt; t++) {
        axis(F->dims[2 * t + 1], F->sc[2 * t], first, step, n, R->x0 + t * n, R->x1 + t * n, R->lx + t * n);
        R->yc[2 * t] = R->yc[2 * t + 1] = -1;
    }
}

/* Term t's coarse row yc upscaled along x (times mul), in a slot other than `keep`'s. */
static const float *fieldrows_get(fieldrows_t *R, int t, int yc, int keep) {
    const field_t *F = R->F;
    const int h = F->dims[2 * t], w = F->dims[2 * t + 1], n = R->n, C = F->c;
    int *held = R->yc + 2 * t;
    if (held[0] == yc) return R->rows + ((size_t)t * 2) * C * n;
    if (held[1] == yc) return R->rows + ((size_t)t * 2 + 1) * C * n;
    const int slot = held[0] == keep ? 1 : 0;
    float *restrict o = R->rows + ((size_t)t * 2 + slot) * C * n;
    const int *restrict x0 = R->x0 + (size_t)t * n, *restrict x1 = R->x1 + (size_t)t * n;
    const float *restrict lx = R->lx + (size_t)t * n;
    const float mul = F->sc[2 * t + 1];
    for (int c = 0; c < C; c++) {
        const float *restrict r = F->data[t] + ((size_t)c * h + yc) * w;
        float *restrict oc = o + (size_t)c * n;
        for (int i = 0; i < n; i++) {
            const float v0 = r[x0[i]], v1 = r[x1[i]];
            oc[i] = mul * (v0 + lx[i] * (v1 - v0));
        }
    }
    held[slot] = yc;
    return o;
}

/* The field at full-resolution row y: out [c][n]. */
static void fieldrows_eval(fieldrows_t *R, int y, float *restrict out) {
    const field_t *F = R->F;
    const int n = R->n, C = F->c;
    for (int t = 0; t < F->nt; t++) {
        const int h = F->dims[2 * t], w = F->dims[2 * t + 1];
        const float inv = F->sc[2 * t], mul = F->sc[2 * t + 1];
        if (inv == 1.f) {  /* a full-resolution term: read as it is */
            for (int c = 0; c < C; c++) {
                const float *restrict r = F->data[t] + ((size_t)c * h + y) * w + R->first;
                float *restrict o = out + (size_t)c * n;
                const int st = R->step;
                if (t == 0)
                    for (int i = 0; i < n; i++) o[i] = mul * r[i * st];
                else
                    for (int i = 0; i < n; i++) o[i] += mul * r[i * st];
            }
            continue;
        }
        int y0, y1;
        float ly;
        axis(h, inv, y, 1, 1, &y0, &y1, &ly);
        const float *r0 = fieldrows_get(R, t, y0, y1);
        const float *r1 = fieldrows_get(R, t, y1, y0);
        for (int c = 0; c < C; c++) {
            const float *restrict a = r0 + (size_t)c * n, *restrict b = r1 + (size_t)c * n;
            float *restrict o = out + (size_t)c * n;
            if (t == 0)  /* the first term writes, the others add */
                for (int i = 0; i < n; i++) o[i] = a[i] + ly * (b[i] - a[i]);
            else
                for (int i = 0; i < n; i++) o[i] += a[i] + ly * (b[i] - a[i]);
        }
    }
}

/* Bilinear sampling positions of one row of samples: for each i < n, the top-left source pixel's offset (in
   pixels) and the two weights' fractions. Vectorisable: plain arithmetic over arrays. */
static inline void positions(int n, const float *bxs, int bstride, float by, const float *fx, const float *fy,
                             float idx_, float idy_, float sx, float sy, int H, int W, int *off, int *dxo, int *dyo,
                             float *ax, float *ay) {
    const float wmax = (float)(W - 1), hmax = (float)(H - 1);
    for (int i = 0; i < n; i++) {
        float ix = (bxs[i * bstride] + fx[i] * idx_ + 1.f) * sx;
        float iy = (by + fy[i] * idy_ + 1.f) * sy;
        ix = ix > 0.f ? ix : 0.f;  /* NaN -> 0, as fmaxf */
        iy = iy > 0.f ? iy : 0.f;
        ix = ix < wmax ? ix : wmax;
        iy = iy < hmax ? iy : hmax;
        int x0 = (int)ix, y0 = (int)iy;
        ax[i] = ix - (float)x0;
        ay[i] = iy - (float)y0;
        off[i] = y0 * W + x0;
        dxo[i] = x0 + 1 < W ? 1 : 0;   /* the right neighbour, or the same pixel at the border (weight 0 there) */
        dyo[i] = y0 + 1 < H ? W : 0;
    }
}

#define MAXW 8192

#define DEFINE_WARP(CS)                                                                                             \
    static int warp_cs##CS(const float *src, int H, int W, int C, const field_t *FL, const float *bx,             \
                            const float *by, float idx_, float idy_, void *out, int OS, int k, const float *extra,  \
                            int E, const float *consts, int NC, float fscale, int bf16) {                           \
        const long hw = (long)H * W;                                                                               \
        const int Ho = H / k, Wo = W / k, n = k == 1 ? 1 : 2, ns = n * n, off0 = k == 1 ? 0 : k / 2 - 1;          \
        const long hwo = (long)Ho * Wo;                                                                            \
        const float sx = (W - 1) / 2.f, sy = (H - 1) / 2.f, wk = k == 1 ? 1.f : 0.25f;                             \
        const size_t fr = fieldrows_floats(FL, Wo);                                                                \
        int failed = 0;                                                                                            \
        _Pragma("omp parallel") {                                                                                  \
        float *acc = malloc(sizeof(float) * ((size_t)Wo * 2 * CS + (size_t)ns * 6 * Wo + n * fr));                \
        int *off = malloc(sizeof(int) * ((size_t)ns * 3 * Wo));                                                    \
        float *rowb = malloc(sizeof(float) * ((size_t)Wo * OS + 2 * CS));                                          \
        float *axy = acc + (size_t)Wo * 2 * CS, *flw = axy + (size_t)ns * 2 * Wo;                                  \
        fieldrows_t rows[2]; /* per column phase dx */                                                             \
        if (acc && off && rowb)                                                                                    \
            for (int dx = 0; dx < n; dx++)                                                                         \
                fieldrows_init(&rows[dx], FL, off0 + dx, k, Wo, flw + (size_t)ns * 4 * Wo + dx * fr);              \
        _Pragma("omp for schedule(static)") for (int yo = 0; yo < Ho; yo++) {                                     \
            if (!acc || !off || !rowb) { failed = 1; continue; } /* out of memory: reported below */              \
            for (int j = 0; j < ns; j++) /* the flows at sample j (dy, dx) of every output pixel */               \
                fieldrows_eval(&rows[j % n], yo * k + off0 + j / n, flw + (size_t)j * 4 * Wo);                     \
            for (int f = 0; f < 2; f++) {                                                                          \
                const float *s = src + f * hw * CS;                                                                \
                for (int j = 0; j < ns; j++) { /* positions of sample j of every output pixel */                  \
                    const int dx = j % n, y = yo * k + off0 + j / n;                                               \
                    const float *fj = flw + (size_t)j * 4 * Wo;                                                    \
                    int *o3 = off + (size_t)j * 3 * Wo;                                                            \
                    float *ax = axy + (size_t)j * 2 * Wo;                                                          \
                    positions(Wo, bx + off0 + dx, k, by[y], fj + 2 * f * Wo, fj + (2 * f + 1) * Wo, idx_, idy_,    \
                              sx, sy, H, W, o3, o3 + Wo, o3 + 2 * Wo, ax, ax + Wo);                                \
                }                                                                                                  \
                for (int xo = 0; xo < Wo; xo++) {                                                                  \
                    float a4[CS];                                                                                  \
                    for (int c = 0; c < CS; c++) a4[c] = 0.f;                                                      \
                    for (int j = 0; j < ns; j++) {                                                                 \
                        const float *ax = axy + (size_t)j * 2 * Wo;                                                \
                        const int *o3 = off + (size_t)j * 3 * Wo;                                                  \
                        const float *p00 = s + (long)o3[xo] * CS, *p01 = p00 + o3[Wo + xo] * CS;                   \
                        const float *p10 = p00 + (long)o3[2 * Wo + xo] * CS, *p11 = p10 + o3[Wo + xo] * CS;        \
                        const float a = ax[xo], b = ax[Wo + xo];                                                   \
                        const float w00 = (1 - a) * (1 - b) * wk, w01 = a * (1 - b) * wk;                          \
                        const float w10 = (1 - a) * b * wk, w11 = a * b * wk;                                      \
                        for (int c = 0; c < CS; c++)                                                               \
                            a4[c] += w00 * p00[c] + w01 * p01[c] + w10 * p10[c] + w11 * p11[c];                    \
                    }                                                                                              \
                    memcpy(acc + ((long)xo * 2 + f) * CS, a4, sizeof(float) * CS);                                 \
                }                                                                                                  \
            }                                                                                                      \
            /* the output row, assembled in rowb (pixel xo at xo * OS; each frame's CS channels copied whole, the   \
               next write overwriting the padding channels), then written out in one pass */                       \
            if (fscale != 0.f) /* the flow channels, averaged over the samples, into flw's first slot */           \
                for (int c = 0; c < 4; c++) {                                                                      \
                    float *restrict fo = flw + (size_t)c * Wo;                                                     \
                    for (int j = 1; j < ns; j++) {                                                                 \
                        const float *restrict fi = flw + ((size_t)j * 4 + c) * Wo;                                 \
                        for (int xo = 0; xo < Wo; xo++) fo[xo] += fi[xo];                                          \
                    }                                                                                              \
                    const float fw = wk * fscale;                                                                  \
                    for (int xo = 0; xo < Wo; xo++) fo[xo] *= fw;                                                  \
                }                                                                                                  \
            for (int xo = 0; xo < Wo; xo++) {                                                                      \
                float *restrict r = rowb + (size_t)xo * OS;                                                        \
                const float *restrict a0 = acc + (size_t)xo * 2 * CS;                                              \
                for (int c = 0; c < CS; c++) r[c] = a0[c];                                                         \
                for (int c = 0; c < CS; c++) r[C + c] = a0[CS + c];                                                \
                for (int c = 0; c < NC; c++) r[2 * C + c] = consts[c];                                             \
                for (int e = 0; e < E; e++) r[2 * C + NC + e] = extra[e * hwo + (long)yo * Wo + xo];               \
                if (fscale != 0.f)                                                                                 \
                    for (int c = 0; c < 4; c++) r[2 * C + NC + E + c] = flw[(size_t)c * Wo + xo];                  \
            }                                                                                                      \
            const size_t rn = (size_t)Wo * OS;                                                                     \
            if (bf16)                                                                                              \
                row_bf16((uint16_t *)out + (size_t)yo * rn, rowb, rn);                                             \
            else                                                                                                   \
                memcpy((float *)out + (size_t)yo * rn, rowb, sizeof(float) * rn);                                  \
        }                                                                                                          \
        free(acc);                                                                                                 \
        free(off);                                                                                                 \
        free(rowb);                                                                                                \
        }                                                                                                          \
        return failed ? -2 : 0;                                                                                    \
    }

DEFINE_WARP(4)
DEFINE_WARP(8)
DEFINE_WARP(12)
DEFINE_WARP(16)
DEFINE_WARP(20)
DEFINE_WARP(24)

static int field_ok(const field_t *F, int c) {
    if (F->nt < 1 || F->nt > MAXT || F->c != c) return 0;
    for (int t = 0; t < F->nt; t++)
        if (F->dims[2 * t] < 1 || F->dims[2 * t + 1] < 1 || F->dims[2 * t + 1] > MAXW) return 0;
    return 1;
}

/* Returns 0; -1 for an unsupported channel stride, too many output channels, too wide a frame or a bad field;
   -2 out of memory. */
int vsrife_warp_pairs(const float *src, int H, int W, int CS, int C, int nt, const float *const *tdata,
                      const int *tdims, const float *tsc, const float *bx, const float *by, float idx_, float idy_,
                      void *out, int OS, int k, const float *extra, int E, const float *consts,
                      int NC, float fscale, int bf16) {
    const field_t FL = {nt, 4, tdata, tdims, tsc};
    if (OS != 2 * C + NC + E + (fscale != 0.f ? 4 : 0) || OS > 256 || W > MAXW || !field_ok(&FL, 4)) return -1;
    switch (CS) {
#define CASE(N) case N: return warp_cs##N(src, H, W, C, &FL, bx, by, idx_, idy_, out, OS, k, extra, E, consts, NC, fscale, bf16);
        CASE(4) CASE(8) CASE(12) CASE(16) CASE(20) CASE(24)
#undef CASE
    }
    return -1;
}

/* merge: the network's output frame. Frames 0 and 1 (the first 3 channels of src, as in warp_pairs) warped by the
   flow field (4 channels), blended by m = sigmoid(mask field, 1 channel): out [3][H][W] = w1 + m * (w0 - w1). */
int vsrife_merge(const float *src, int H, int W, int CS, int nt, const float *const *tdata, const int *tdims,
                 const float *tsc, int ntm, const float *const *mdata, const int *mdims, const float *msc,
                 const float *bx, const float *by, float idx_, float idy_, float *out) {
    const field_t FL = {nt, 4, tdata, tdims, tsc}, FM = {ntm, 1, mdata, mdims, msc};
    if (W > MAXW || !field_ok(&FL, 4) || !field_ok(&FM, 1)) return -1;
    const long hw = (long)H * W;
    const float sx = (W - 1) / 2.f, sy = (H - 1) / 2.f;
    const size_t frl = fieldrows_floats(&FL, W), frm = fieldrows_floats(&FM, W);
    int failed = 0;
    #pragma omp parallel
    {
    float *v0 = malloc(sizeof(float) * (15 * (size_t)W + frl + frm));
    float *v1 = v0 + 4 * W, *m = v1 + 4 * W, *ax = m + W, *ay = ax + W, *flw = ay + W;
    int *off = malloc(sizeof(int) * 3 * (size_t)W), *dxo = off + W, *dyo = dxo + W;
    float *v[2] = {v0, v1};
    fieldrows_t rl, rm;
    if (v0 && off) {
        fieldrows_init(&rl, &FL, 0, 1, W, flw + 4 * W);
        fieldrows_init(&rm, &FM, 0, 1, W, flw + 4 * W + frl);
    }
    #pragma omp for schedule(static)
    for (int y = 0; y < H; y++) {
        if (!v0 || !off) { failed = 1; continue; }
        const long p0 = (long)y * W;
        fieldrows_eval(&rl, y, flw);
        fieldrows_eval(&rm, y, m);
        for (int f = 0; f < 2; f++) {
            const float *s = src + f * hw * CS;
            positions(W, bx, 1, by[y], flw + 2 * f * W, flw + (2 * f + 1) * W, idx_, idy_, sx, sy, H, W, off, dxo,
                      dyo, ax, ay);
            for (int x = 0; x < W; x++) {
                const float *p00 = s + (long)off[x] * CS, *p01 = p00 + dxo[x] * CS;
                const float *p10 = p00 + (long)dyo[x] * CS, *p11 = p10 + dxo[x] * CS;
                const float a = ax[x], b = ay[x];
                const float w00 = (1 - a) * (1 - b), w01 = a * (1 - b), w10 = (1 - a) * b, w11 = a * b;
                for (int c = 0; c < 4; c++)
                    v[f][x * 4 + c] = w00 * p00[c] + w01 * p01[c] + w10 * p10[c] + w11 * p11[c];
            }
        }
        for (int x = 0; x < W; x++) m[x] = 1.f / (1.f + expf(-m[x]));
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < W; x++)
                out[c * hw + p0 + x] = v[1][x * 4 + c] + m[x] * (v[0][x * 4 + c] - v[1][x * 4 + c]);
    }
    free(v0);
    free(off);
    }
    return failed ? -2 : 0;
}

/* The ABI version of this file: the loader refuses a library that answers otherwise. */
int vsrife_native_version(void) { return 8; }
