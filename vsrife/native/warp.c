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
 *   out   [H/k][W/k][OS]: channels 0..C-1 frame 0, C..2C-1 frame 1; k = 1 and fo: 2C..2C+3 the flow times fs
 */
#include <math.h>
#include <string.h>

#define DEFINE_WARP(CS)                                                                                             \
    static void warp_cs##CS(const float *src, int H, int W, int C, const float *flow, const float *bx,             \
                            const float *by, float idx_, float idy_, float *out, int OS, int k, int fo, float fs) { \
        const long hw = (long)H * W;                                                                               \
        const int Ho = H / k, Wo = W / k, n = k == 1 ? 1 : 2, off = k == 1 ? 0 : k / 2 - 1;                       \
        const int Hs = k == 1 ? H : 2 * Ho, Ws = k == 1 ? W : 2 * Wo;                                              \
        const long hws = (long)Hs * Ws;                                                                            \
        const float sx = (W - 1) / 2.f, sy = (H - 1) / 2.f, wk = k == 1 ? 1.f : 0.25f;                             \
        _Pragma("omp parallel for schedule(static)") for (int yo = 0; yo < Ho; yo++) {                             \
            for (int xo = 0; xo < Wo; xo++) {                                                                      \
                float *o = out + ((long)yo * Wo + xo) * OS;                                                        \
                for (int f = 0; f < 2; f++) {                                                                      \
                    const float *s = src + f * hw * CS;                                                            \
                    const float *fx = flow + (2 * f) * hws, *fy = flow + (2 * f + 1) * hws;                        \
                    float acc[CS];                                                                                 \
                    for (int c = 0; c < CS; c++) acc[c] = 0.f;                                                     \
                    for (int dy = 0; dy < n; dy++) {                                                               \
                        int y = yo * k + off + dy;                                                                 \
                        for (int dx = 0; dx < n; dx++) {                                                           \
                            int x = xo * k + off + dx;                                                             \
                            long p = (long)(yo * n + dy) * Ws + (xo * n + dx);                                     \
                            float ix = (bx[x] + fx[p] * idx_ + 1.f) * sx;                                          \
                            float iy = (by[y] + fy[p] * idy_ + 1.f) * sy;                                          \
                            ix = fminf(fmaxf(ix, 0.f), (float)(W - 1));                                            \
                            iy = fminf(fmaxf(iy, 0.f), (float)(H - 1));                                            \
                            int x0 = (int)ix, y0 = (int)iy;                                                        \
                            float ax = ix - x0, ay = iy - y0;                                                      \
                            int x1 = x0 + 1 < W ? x0 + 1 : W - 1, y1 = y0 + 1 < H ? y0 + 1 : H - 1;                \
                            const float *p00 = s + ((long)y0 * W + x0) * CS, *p01 = s + ((long)y0 * W + x1) * CS;  \
                            const float *p10 = s + ((long)y1 * W + x0) * CS, *p11 = s + ((long)y1 * W + x1) * CS;  \
                            float w00 = (1 - ax) * (1 - ay) * wk, w01 = ax * (1 - ay) * wk;                        \
                            float w10 = (1 - ax) * ay * wk, w11 = ax * ay * wk;                                    \
                            for (int c = 0; c < CS; c++)                                                           \
                                acc[c] += w00 * p00[c] + w01 * p01[c] + w10 * p10[c] + w11 * p11[c];               \
                        }                                                                                          \
                    }                                                                                              \
                    memcpy(o + f * C, acc, sizeof(float) * C);                                                     \
                }                                                                                                  \
                if (fo && k == 1) {                                                                                \
                    long p = (long)yo * W + xo;                                                                    \
                    for (int c = 0; c < 4; c++) o[2 * C + c] = flow[c * hw + p] * fs;                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }

DEFINE_WARP(4)
DEFINE_WARP(8)
DEFINE_WARP(12)
DEFINE_WARP(16)
DEFINE_WARP(20)
DEFINE_WARP(24)

/* Returns 0, or -1 for an unsupported channel stride. */
int vsrife_warp_pairs(const float *src, int H, int W, int CS, int C, const float *flow, const float *bx,
                      const float *by, float idx_, float idy_, float *out, int OS, int k, int fo, float fs) {
    switch (CS) {
#define CASE(N) case N: warp_cs##N(src, H, W, C, flow, bx, by, idx_, idy_, out, OS, k, fo, fs); return 0;
        CASE(4) CASE(8) CASE(12) CASE(16) CASE(20) CASE(24)
#undef CASE
    }
    return -1;
}

/* merge: the network's output frame. Frames 0 and 1 (the first 3 channels of src, as in warp_pairs) warped by
   flow [4][H][W], blended by the mask m = sigmoid(mask[H][W]): out [3][H][W] = w1 + m * (w0 - w1). */
void vsrife_merge(const float *src, int H, int W, int CS, const float *flow, const float *mask, const float *bx,
                  const float *by, float idx_, float idy_, float *out) {
    const long hw = (long)H * W;
    const float sx = (W - 1) / 2.f, sy = (H - 1) / 2.f;
    #pragma omp parallel for schedule(static)
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            long p = (long)y * W + x;
            float v[2][4];
            for (int f = 0; f < 2; f++) {
                const float *s = src + f * hw * CS;
                float ix = (bx[x] + flow[(2 * f) * hw + p] * idx_ + 1.f) * sx;
                float iy = (by[y] + flow[(2 * f + 1) * hw + p] * idy_ + 1.f) * sy;
                ix = fminf(fmaxf(ix, 0.f), (float)(W - 1));
                iy = fminf(fmaxf(iy, 0.f), (float)(H - 1));
                int x0 = (int)ix, y0 = (int)iy;
                float ax = ix - x0, ay = iy - y0;
                int x1 = x0 + 1 < W ? x0 + 1 : W - 1, y1 = y0 + 1 < H ? y0 + 1 : H - 1;
                const float *p00 = s + ((long)y0 * W + x0) * CS, *p01 = s + ((long)y0 * W + x1) * CS;
                const float *p10 = s + ((long)y1 * W + x0) * CS, *p11 = s + ((long)y1 * W + x1) * CS;
                float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
                for (int c = 0; c < 4; c++) v[f][c] = w00 * p00[c] + w01 * p01[c] + w10 * p10[c] + w11 * p11[c];
            }
            float m = 1.f / (1.f + expf(-mask[p]));
            for (int c = 0; c < 3; c++) out[c * hw + p] = v[1][c] + m * (v[0][c] - v[1][c]);
        }
    }
}

/* The ABI version of this file: the loader refuses a library that answers otherwise. */
int vsrife_native_version(void) { return 2; }
