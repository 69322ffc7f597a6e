// Jansen-Rit networks with sparse coupling on CPU: K fixed steps of a batch
// of networks in one XLA FFI call (nmmjax/networks/_jr_ffi.py).
//
// Why: XLA:CPU streams the whole batch's state through memory once per fused
// operation and step; here a block of W networks keeps its state, weights
// and stage buffers in L1 for all K steps, W lanes wide (one vector).
//
// Model (nmmjax/models/jansen_rit.py, nmmjax/networks/feedforward.py), per
// node i, with v = y1 - y2 and S(x) = 2 e0 / (1 + exp(r (v0 - x))):
//   y0' = z0;  z0' = A a S(v_i)                                - 2 a z0 - a^2 y0
//   y1' = z1;  z1' = A a (p_i + C2 S(C1 y0) + sum_e We_e S(v_src)) - 2 a z1 - a^2 y1
//   y2' = z2;  z2' = B b (C4 S(C3 y0) + sum_e Wi_e S(v_src))       - 2 b z2 - b^2 y2
// where the sums run over the edges e = (src -> i) in the given order, and
// p_i is the drive u for the first n_in nodes and p_background otherwise.
// Methods: 0 Euler, 1 Heun, 2 Euler-Maruyama, 3 stochastic Heun (additive
// noise: g, the increment of z1, is the same in both stages), as in
// nmmjax/engine/_steps.py.
//
// Layouts (row-major): state y (6, N, S, P) with leaves y0 y1 y2 z0 z1 z2;
// drive u (K, C, n_in, S) at the method's C stages (shared by the P axis);
// noise g (K, N, S) (shared by P; (0,) without noise); edges (E, 2) as
// (src, dst); weights (E, P); params (13,) = A a B b C1 C2 C3 C4 e0 v0 r
// p_background dt; observed nodes (n_obs,). Outputs: the state after K
// steps, and the moments of v of the observed nodes after every `every`-th
// step in nmmjax.engine.MeanCov's chunk form: the first observation (shift,
// (n_obs, S, P)), the sums of d = v - shift ((n_obs, S, P)) and of d d^T
// ((n_obs, n_obs, S, P)), summed in time order.
//
// The exponential is a branch-free polynomial (relative error ~1e-7) on W-lane vectors (GCC/Clang vector extensions; built with
// -march=native); results agree with the pure-JAX path (tanh form of S) to
// float32 rounding, not bit for bit.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

constexpr int W = 16;  // lanes: networks advanced together
// W floats as one value (GCC/Clang vector extension): lane-wise arithmetic
// that compiles to AVX-512, two AVX2 or four SSE registers alike.
typedef float VF __attribute__((vector_size(4 * W)));
typedef int32_t VI __attribute__((vector_size(4 * W)));

struct Params {
  float A, a, B, b, C1, C2, C3, C4, e0, v0, r, pbg, dt;
};

inline VF Clamp(VF x, float lo, float hi) {
  x = x > lo ? x : VF{} + lo;  // the order of vmaxps/vminps (one instruction each)
  return x < hi ? x : VF{} + hi;
}

// 2^x lane-wise: 2^n * poly(x - n), n = round(x), with a degree-6 fit of 2^f
// on [-1/2, 1/2] (relative error < 1e-7 in float32); x is clamped to
// [-126, 127] so the result stays finite and normal.
inline VF Exp2(VF x) {
  x = Clamp(x, -126.0f, 127.0f);
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const VF n = (x + magic) - magic;
  const VF f = x - n;
  VF p = f * 1.5345810970757157e-4f + 1.3399930903688073e-3f;
  p = p * f + 9.618489071726799e-3f;
  p = p * f + 5.550328642129898e-2f;
  p = p * f + 2.4022646248340607e-1f;
  p = p * f + 6.931471824645996e-1f;
  p = p * f + 1.0f;
  VI bits = (__builtin_convertvector(n, VI) + 127) << 23;
  return p * reinterpret_cast<VF&>(bits);
}

// S(x) = 2 e0 / (1 + exp(r v0 - r x)) = 2 e0 / (1 + 2^(k v0 - k x)), k = r log2(e).
inline VF Sig(VF x, float two_e0, float k, float kv0) {
  return two_e0 / (1.0f + Exp2(kv0 - k * x));
}

constexpr float kLog2e = 1.44269504088896341f;

// Constants of the right-hand side.
struct Consts {
  float two_e0, k, kv0, kc3, erv0, Aa, Bb, a2, b2, aa, bb, C1, C2, C3, C4, pbg, dt, half;
  explicit Consts(const Params& P)
      : two_e0(2.0f * P.e0), k(P.r * kLog2e), kv0(P.r * kLog2e * P.v0),
        kc3(P.r * kLog2e * P.C3),
        erv0(static_cast<float>(std::exp(double(P.r) * P.v0))), Aa(P.A * P.a), Bb(P.B * P.b),
        a2(2.0f * P.a), b2(2.0f * P.b), aa(P.a * P.a), bb(P.b * P.b), C1(P.C1), C2(P.C2),
        C3(P.C3), C4(P.C4), pbg(P.pbg), dt(P.dt), half(0.5f * P.dt) {}
};

// The interneuron firings S(C1 y0) and S(C3 y0). When C1 = 4 C3 (the
// standard Jansen-Rit ratio, kPair) one exponential q = exp(-r C3 y0) gives
// both, exp(r v0) q and exp(r v0) q^4; its exponent is clamped to +-30 (in
// base 2), where both sigmoids are saturated to float precision.
template <bool kPair>
inline void Interneurons(VF y0, const Consts& c, VF& s1, VF& s3) {
  if (kPair) {
    const VF q = Exp2(Clamp(-c.kc3 * y0, -30.0f, 30.0f)), q2 = q * q;
    s3 = c.two_e0 / (1.0f + c.erv0 * q);
    s1 = c.two_e0 / (1.0f + c.erv0 * (q2 * q2));
  } else {
    s1 = Sig(c.C1 * y0, c.two_e0, c.k, c.kv0);
    s3 = Sig(c.C3 * y0, c.two_e0, c.k, c.kv0);
  }
}

// One block: W networks' state (leaf j of node i at [j * n + i]), stage
// buffers and weights, all in L1 for a small network.
struct Block {
  int n, n_in, n_edges;
  std::vector<VF> y, k1, yp, s, ue, ui, we, wi;
  Block(int n_, int n_in_, int e)
      : n(n_), n_in(n_in_), n_edges(e), y(6 * n), k1(6 * n), yp(6 * n), s(n), ue(n), ui(n),
        we(e), wi(e) {}
};

// s = S(v) of every node of state x, and the afferent sums ue, ui over the
// edges in order (the pure-JAX sum's order).
void Couple(Block& b, const VF* x, const int32_t* edges, const Consts& c) {
  const int n = b.n;
  for (int i = 0; i < n; ++i) {
    b.s[i] = Sig(x[n + i] - x[2 * n + i], c.two_e0, c.k, c.kv0);
    b.ue[i] = VF{};
    b.ui[i] = VF{};
  }
  for (int e = 0; e < b.n_edges; ++e) {
    const int src = edges[2 * e], dst = edges[2 * e + 1];
    b.ue[dst] = b.ue[dst] + b.we[e] * b.s[src];
    b.ui[dst] = b.ui[dst] + b.wi[e] * b.s[src];
  }
}

// One stage of a step, fused with its use of the derivative d = f(x):
//   kEuler:   y  = y + dt d (+ g)            x = y (Euler, Euler-Maruyama)
//   kPredict: k1 = d, yp = y + dt d (+ g)    x = y (Heun's first stage)
//   kCorrect: y  = y + dt/2 (k1 + d) (+ g)   x = yp
// g (per node, or nullptr): the noise increment of z1, added last as in
// nmmjax/engine/_steps.py.
enum { kEuler, kPredict, kCorrect };

template <bool kPair, int kStage>
void Stage(Block& b, const float* u, const float* g, const int32_t* edges, const Consts& c) {
  const int n = b.n;
  VF* y = b.y.data();
  VF* k1 = b.k1.data();
  VF* yp = b.yp.data();
  const VF* x = kStage == kCorrect ? yp : y;
  Couple(b, x, edges, c);
  for (int i = 0; i < n; ++i) {
    const float p = i < b.n_in ? u[i] : c.pbg;
    const VF y0 = x[i], y1 = x[n + i], y2 = x[2 * n + i];
    const VF z0 = x[3 * n + i], z1 = x[4 * n + i], z2 = x[5 * n + i];
    VF s1, s3;
    Interneurons<kPair>(y0, c, s1, s3);
    const VF d[6] = {z0, z1, z2, c.Aa * b.s[i] - c.a2 * z0 - c.aa * y0,
                     c.Aa * (p + c.C2 * s1 + b.ue[i]) - c.a2 * z1 - c.aa * y1,
                     c.Bb * (c.C4 * s3 + b.ui[i]) - c.b2 * z2 - c.bb * y2};
    for (int j = 0; j < 6; ++j) {
      const int at = j * n + i;
      if (kStage == kEuler) y[at] = y[at] + c.dt * d[j];
      if (kStage == kPredict) {
        k1[at] = d[j];
        yp[at] = y[at] + c.dt * d[j];
      }
      if (kStage == kCorrect) y[at] = y[at] + c.half * (k1[at] + d[j]);
    }
    if (g) {
      VF* tgt = kStage == kPredict ? yp : y;
      tgt[4 * n + i] = tgt[4 * n + i] + g[i];
    }
  }
}

struct Dims {
  int64_t n, s, p, k, c, n_in, e, n_obs;
  bool noisy;
};

// Moments of the observed v over a chunk, as nmmjax.engine.MeanCov.batch
// keeps them: the first observation (shift) and the sums of d = v - shift
// and of d d^T (upper triangle here, mirrored on output).
struct Moments {
  int m;
  std::vector<VF> shift, sx, sxx, v;
  explicit Moments(int m_) : m(m_), shift(m), sx(m), sxx(m * m), v(m) {}
  void Reset() {
    std::fill(sx.begin(), sx.end(), VF{});
    std::fill(sxx.begin(), sxx.end(), VF{});
  }
  void Observe(bool first) {
    if (first) std::copy(v.begin(), v.end(), shift.begin());
    for (int i = 0; i < m; ++i) v[i] = v[i] - shift[i];
    for (int i = 0; i < m; ++i) {
      sx[i] = sx[i] + v[i];
      for (int j = i; j < m; ++j) sxx[i * m + j] = sxx[i * m + j] + v[i] * v[j];
    }
  }
};

// K steps of the block of networks (s, p0 .. p0 + W - 1), observing v of
// the observed nodes after every `every`-th step into mo.
template <bool kPair>
void RunBlock(Block& b, Moments& mo, const Dims& D, int64_t si, int method, int64_t every,
              const float* u, const float* g, const int32_t* edges, const int32_t* obs,
              const Consts& c) {
  const int n = b.n;
  std::vector<float> us(D.c * D.n_in), gs(D.n);
  mo.Reset();
  for (int64_t k = 0; k < D.k; ++k) {
    for (int64_t j = 0; j < D.c * D.n_in; ++j) us[j] = u[(k * D.c * D.n_in + j) * D.s + si];
    const float* gk = nullptr;
    if (D.noisy) {
      for (int i = 0; i < n; ++i) gs[i] = g[(k * D.n + i) * D.s + si];
      gk = gs.data();
    }
    if (method == 0 || method == 2) {
      Stage<kPair, kEuler>(b, us.data(), gk, edges, c);
    } else {
      Stage<kPair, kPredict>(b, us.data(), gk, edges, c);
      Stage<kPair, kCorrect>(b, us.data() + D.n_in, gk, edges, c);
    }
    if (mo.m && (k + 1) % every == 0) {
      for (int o = 0; o < mo.m; ++o) mo.v[o] = b.y[n + obs[o]] - b.y[2 * n + obs[o]];
      mo.Observe(k + 1 == every);
    }
  }
}

ffi::Error JRImpl(ffi::Buffer<ffi::F32> y_in, ffi::Buffer<ffi::F32> u, ffi::Buffer<ffi::F32> g,
                  ffi::Buffer<ffi::S32> edges, ffi::Buffer<ffi::F32> wexc,
                  ffi::Buffer<ffi::F32> winh, ffi::Buffer<ffi::F32> params,
                  ffi::Buffer<ffi::S32> obs, ffi::ResultBuffer<ffi::F32> y_out,
                  ffi::ResultBuffer<ffi::F32> shift, ffi::ResultBuffer<ffi::F32> sx,
                  ffi::ResultBuffer<ffi::F32> sxx, int64_t method, int64_t n_in,
                  int64_t every) {
  auto yd = y_in.dimensions();
  auto ud = u.dimensions();
  if (yd.size() != 4 || yd[0] != 6)
    return ffi::Error::InvalidArgument("state must be (6, N, S, P)");
  if (ud.size() != 4) return ffi::Error::InvalidArgument("drive must be (K, C, n_in, S)");
  Dims D{yd[1], yd[2], yd[3], ud[0], ud[1], n_in, edges.dimensions()[0],
         obs.dimensions()[0], g.element_count() > 0};
  if (ud[2] != n_in || ud[3] != D.s || n_in > D.n)
    return ffi::Error::InvalidArgument("drive must be (K, C, n_in, S) with n_in <= N");
  if (params.element_count() != 13) return ffi::Error::InvalidArgument("params must be (13,)");
  if ((method >= 2) != D.noisy || (D.noisy && g.element_count() != D.k * D.n * D.s))
    return ffi::Error::InvalidArgument("noise must be (K, N, S) for SDE methods, (0,) otherwise");
  if (D.c != ((method == 1 || method == 3) ? 2 : 1))
    return ffi::Error::InvalidArgument("drive needs one stage per right-hand side");
  if (wexc.element_count() != D.e * D.p || winh.element_count() != D.e * D.p)
    return ffi::Error::InvalidArgument("weights must be (E, P)");
  if (every < 1 || D.k % every) return ffi::Error::InvalidArgument("K must be a multiple of every");
  Params P;
  std::memcpy(&P, params.typed_data(), sizeof(P));
  const Consts c(P);
  const auto run = P.C1 == 4.0f * P.C3 ? RunBlock<true> : RunBlock<false>;
  const int32_t* ed = edges.typed_data();
  for (int64_t e = 0; e < 2 * D.e; ++e)
    if (ed[e] < 0 || ed[e] >= D.n) return ffi::Error::InvalidArgument("edge node out of range");
  for (int64_t o = 0; o < D.n_obs; ++o)
    if (obs.typed_data()[o] < 0 || obs.typed_data()[o] >= D.n)
      return ffi::Error::InvalidArgument("observed node out of range");

  const float* yi = y_in.typed_data();
  float* yo = y_out->typed_data();
  Block b(static_cast<int>(D.n), static_cast<int>(n_in), static_cast<int>(D.e));
  Moments mo(static_cast<int>(D.n_obs));
  const int64_t n = D.n, m = D.n_obs;
  // Lanes of the block (s, p0 .. p0 + lanes - 1) <-> a (.., S, P) array at row j.
  auto in = [&](VF& dst, const float* src, int64_t j, int64_t si, int64_t p0, int64_t lanes) {
    dst = VF{};
    std::memcpy(&dst, src + (j * D.s + si) * D.p + p0, lanes * 4);
  };
  auto out = [&](float* dst, const VF& src, int64_t j, int64_t si, int64_t p0, int64_t lanes) {
    std::memcpy(dst + (j * D.s + si) * D.p + p0, &src, lanes * 4);
  };
  for (int64_t si = 0; si < D.s; ++si) {
    for (int64_t p0 = 0; p0 < D.p; p0 += W) {
      const int64_t lanes = std::min<int64_t>(W, D.p - p0);
      for (int64_t j = 0; j < 6 * n; ++j) in(b.y[j], yi, j, si, p0, lanes);
      for (int64_t e = 0; e < D.e; ++e) {  // (E, P)
        b.we[e] = b.wi[e] = VF{};
        std::memcpy(&b.we[e], wexc.typed_data() + e * D.p + p0, lanes * 4);
        std::memcpy(&b.wi[e], winh.typed_data() + e * D.p + p0, lanes * 4);
      }
      run(b, mo, D, si, static_cast<int>(method), every, u.typed_data(), g.typed_data(), ed,
          obs.typed_data(), c);
      for (int64_t j = 0; j < 6 * n; ++j) out(yo, b.y[j], j, si, p0, lanes);
      for (int64_t i = 0; i < m; ++i) {
        out(shift->typed_data(), mo.shift[i], i, si, p0, lanes);
        out(sx->typed_data(), mo.sx[i], i, si, p0, lanes);
        for (int64_t j = 0; j < m; ++j)
          out(sxx->typed_data(), mo.sxx[std::min(i, j) * m + std::max(i, j)], i * m + j, si, p0,
              lanes);
      }
    }
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(NmmjaxJRNetwork, JRImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // y (6, N, S, P)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // u (K, C, n_in, S)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g (K, N, S) or (0,)
                                  .Arg<ffi::Buffer<ffi::S32>>()  // edges (E, 2)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // wexc (E, P)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // winh (E, P)
                                  .Arg<ffi::Buffer<ffi::F32>>()  // params (13,)
                                  .Arg<ffi::Buffer<ffi::S32>>()  // observed nodes (n_obs,)
                                  .Ret<ffi::Buffer<ffi::F32>>()  // y after K steps
                                  .Ret<ffi::Buffer<ffi::F32>>()  // shift (n_obs, S, P)
                                  .Ret<ffi::Buffer<ffi::F32>>()  // sx (n_obs, S, P)
                                  .Ret<ffi::Buffer<ffi::F32>>()  // sxx (n_obs, n_obs, S, P)
                                  .Attr<int64_t>("method")
                                  .Attr<int64_t>("n_in")
                                  .Attr<int64_t>("every"));
