/* vsrife native kernels: fused bilinear warps for the CPU fast path of the v4 networks (see vsrife/native/__init__.py).
 *
 * warp_pairs: backward-warps two frames (and their features) by their flows and writes the result channels_last,
 * optionally averaged over the 2x2 samples that a 1/k bilinear downscale reads. Same arithmetic as
 * F.grid_sample(mode="bilinear", padding_mode="border", align_corners=True) on the grid base + flow / div.
 *
 *   src   frame f (0, 1) at src + f*H*W*CS: channels_last [H][W][CS], CS a multiple of 4 >= C (padding read, unused)
 *   flow  [4][Hs][Ws] (fx0, fy0, fx1, fy1) in pixels at the sample points: k = 1: every pixel (Hs = H);
 *         k >= 2: the full-resolution rows k*i + k/2 - 1 and k*i + k/2 (likewise columns), Hs = 2 * (H / k)
 *   bx,by the normalised base grid (torch.linspace(-1, 1, W) and (.., H)); idx_, idy_ = 2 / (W - 1), 2 / (H - 1)
 *   out   [H/k][W/k][OS], fp32 or (bf16 = 1) bfloat16: channels 0..C-1 frame 0, C..2C-1 frame 1, then the NC
 *         values consts, then the E planes extra [E][H/k][W/k] (NCHW) times escale[e]; OS = 2C + NC + E
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* fp32 -> bf16, round to nearest even (as torch) */
static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Bilinear sampling positions of one row of samples: for each i < n, the top-left source pixel's offset (in
   pixels) and the two weights' fractions. Vectorisable: plain arithmetic over arrays. */
static inline void positions(int n, const float *bxs, int bstride, float by, const float *fx, const float *fy,
                             int fstride, float idx_, float idy_, float sx, float sy, int H, int W, int *off, int *dxo,
                             int *dyo, float *ax, float *ay) {
    const float wmax = (float)(W - 1), hmax = (float)(H - 1);
    for (int i = 0; i < n; i++) {
        float ix = (bxs[i * bstride] + fx[i * fstride] * idx_ + 1.f) * sx;
        float iy = (by + fy[i * fstride] * idy_ + 1.f) * sy;
        ix = fminf(fmaxf(ix, 0.f), wmax);
        iy = fminf(fmaxf(iy, 0.f), hmax);
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
    static int warp_cs##CS(const float *src, int H, int W, int C, const float *flow, const float *bx,             \
                            const float *by, float idx_, float idy_, void *out, int OS, int k, const float *extra,  \
                            int E, const float *escale, const float *consts, int NC, int bf16) {                    \
        const long hw = (long)H * W;                                                                               \
        const int Ho = H / k, Wo = W / k, n = k == 1 ? 1 : 2, ns = n * n, off0 = k == 1 ? 0 : k / 2 - 1;          \
        const int Ws = k == 1 ? W : 2 * Wo, Hs = k == 1 ? H : 2 * Ho;                                              \
        const long hws = (long)Hs * Ws, hwo = (long)Ho * Wo;                                                       \
        const float sx = (W - 1) / 2.f, sy = (H - 1) / 2.f, wk = k == 1 ? 1.f : 0.25f;                             \
        int failed = 0;                                                                                            \
        _Pragma("omp parallel") {                                                                                  \
        float *acc = malloc(sizeof(float) * ((size_t)Wo * 2 * CS + 8 * (size_t)Wo));                              \
        int *off = malloc(sizeof(int) * 12 * (size_t)Wo);                                                          \
        _Pragma("omp for schedule(static)") for (int yo = 0; yo < Ho; yo++) {                                     \
            if (!acc || !off) { failed = 1; continue; } /* out of memory: reported below */                       \
            for (int f = 0; f < 2; f++) {                                                                          \
                const float *s = src + f * hw * CS;                                                                \
                for (int j = 0; j < ns; j++) { /* positions of sample j (dy, dx) of every output pixel */         \
                    const int dy = j / n, dx = j % n, y = yo * k + off0 + dy;                                      \
                    const long p0 = (long)(yo * n + dy) * Ws + dx;                                                 \
                    float *ax = acc + (size_t)Wo * 2 * CS + (size_t)j * 2 * Wo;                                    \
                    int *o3 = off + (size_t)j * 3 * Wo;                                                            \
                    positions(Wo, bx + off0 + dx, k, by[y], flow + (2 * f) * hws + p0,                             \
                              flow + (2 * f + 1) * hws + p0, n, idx_, idy_, sx, sy, H, W, o3, o3 + Wo,             \
                              o3 + 2 * Wo, ax, ax + Wo);                                                           \
                }                                                                                                  \
                for (int xo = 0; xo < Wo; xo++) {                                                                  \
                    float a4[CS];                                                                                  \
                    for (int c = 0; c < CS; c++) a4[c] = 0.f;                                                      \
                    for (int j = 0; j < ns; j++) {                                                                 \
                        const float *ax = acc + (size_t)Wo * 2 * CS + (size_t)j * 2 * Wo;                          \
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
            for (int xo = 0; xo < Wo; xo++) {                                                                      \
                float row[256];                                                                                    \
                const long q = (long)yo * Wo + xo;                                                                 \
                memcpy(row, acc + (long)xo * 2 * CS, sizeof(float) * C);                                           \
                memcpy(row + C, acc + ((long)xo * 2 + 1) * CS, sizeof(float) * C);                                 \
                for (int c = 0; c < NC; c++) row[2 * C + c] = consts[c];                                           \
                for (int e = 0; e < E; e++) row[2 * C + NC + e] = extra[e * hwo + q] * escale[e];                  \
                if (bf16) {                                                                                        \
                    uint16_t *o = (uint16_t *)out + q * OS;                                                        \
                    for (int c = 0; c < OS; c++) o[c] = to_bf16(row[c]);                                           \
                } else {                                                                                           \
                    memcpy((float *)out + q * OS, row, sizeof(float) * OS);                                        \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        free(acc);                                                                                                 \
        free(off);                                                                                                 \
        }                                                                                                          \
        return failed ? -2 : 0;                                                                                    \
    }

DEFINE_WARP(4)
DEFINE_WARP(8)
DEFINE_WARP(12)
DEFINE_WARP(16)
DEFINE_WARP(20)
DEFINE_WARP(24)

/* Returns 0; -1 for an unsupported channel stride, too many output channels or too wide a frame; -2 out of memory. */
int vsrife_warp_pairs(const float *src, int H, int W, int CS, int C, const float *flow, const float *bx,
                      const float *by, float idx_, float idy_, void *out, int OS, int k, const float *extra, int E,
                      const float *escale, const float *consts, int NC, int bf16) {
    if (OS != 2 * C + NC + E || OS > 256 || W > MAXW) return -1;
    switch (CS) {
#define CASE(N) case N: return warp_cs##N(src, H, W, C, flow, bx, by, idx_, idy_, out, OS, k, extra, E, escale, consts, NC, bf16);
        CASE(4) CASE(8) CASE(12) CASE(16) CASE(20) CASE(24)
#undef CASE
    }
    return -1;
}

/* merge: the network's output frame. Frames 0 and 1 (the first 3 channels of src, as in warp_pairs) warped by
   flow [4][H][W], blended by the mask m = sigmoid(mask[H][W]): out [3][H][W] = w1 + m * (w0 - w1). */
int vsrife_merge(const float *src, int H, int W, int CS, const float *flow, const float *mask, const float *bx,
                 const float *by, float idx_, float idy_, float *out) {
    if (W > MAXW) return -1;
    const long hw = (long)H * W;
    const float sx = (W - 1) / 2.f, sy = (H - 1) / 2.f;
    int failed = 0;
    #pragma omp parallel
    {
    float *v0 = malloc(sizeof(float) * 11 * (size_t)W), *v1 = v0 + 4 * W, *m = v1 + 4 * W, *ax = m + W, *ay = ax + W;
    int *off = malloc(sizeof(int) * 3 * (size_t)W), *dxo = off + W, *dyo = dxo + W;
    float *v[2] = {v0, v1};
    #pragma omp for schedule(static)
    for (int y = 0; y < H; y++) {
        if (!v0 || !off) { failed = 1; continue; }
        const long p0 = (long)y * W;
        for (int f = 0; f < 2; f++) {
            const float *s = src + f * hw * CS;
            positions(W, bx, 1, by[y], flow + (2 * f) * hw + p0, flow + (2 * f + 1) * hw + p0, 1, idx_, idy_, sx, sy,
                      H, W, off, dxo, dyo, ax, ay);
            for (int x = 0; x < W; x++) {
                const float *p00 = s + (long)off[x] * CS, *p01 = p00 + dxo[x] * CS;
                const float *p10 = p00 + (long)dyo[x] * CS, *p11 = p10 + dxo[x] * CS;
                const float a = ax[x], b = ay[x];
                const float w00 = (1 - a) * (1 - b), w01 = a * (1 - b), w10 = (1 - a) * b, w11 = a * b;
                for (int c = 0; c < 4; c++)
                    v[f][x * 4 + c] = w00 * p00[c] + w01 * p01[c] + w10 * p10[c] + w11 * p11[c];
            }
        }
        for (int x = 0; x < W; x++) m[x] = 1.f / (1.f + expf(-mask[p0 + x]));
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
int vsrife_native_version(void) { return 5; }
