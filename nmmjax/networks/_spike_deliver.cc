// Spike delivery for nmmjax.networks.spiking on CPU: one XLA FFI call per
// step instead of ~40 small XLA kernels (finding the spiking neurons, slicing
// their rows of the synapse table, scatter-adding them).
//
// For every neuron i that spiked, in ascending order, and every column c of
// its row (in order), the weight w[i, c] is added to out[pos], where
//   pos = t                                   without delays (n_slots == 1),
//   pos = ((step + d[i, c]) % n_slots) * width + t   with delays,
// t = targets[i, c] (entries >= n_valid are padding and skipped). This is the
// order in which the pure-JAX path's scatter adds, so both give the same bits.
//
// Before the additions, block c of out (out has n_scale equal blocks) is
// pending's block c times scale[c]: the channels' exponential decay, done in
// the same pass (n_scale = 0: out starts as pending).
//
// pending and out have `rank` own (trailing) dimensions, flattened to m.
//
// Batching (jax.vmap with vmap_method="expand_dims"): every operand has
// leading batch dimensions whose product is either the output's batch size B
// or 1 (shared by the whole batch, e.g. one synapse table for many runs).
//
// The file's other handlers: CountImpl (spikes per population) and LifImpl
// (a whole LIF network step with its delivery; see LifNetwork below).
//
// Built on first use by nmmjax/networks/_spike_ffi.py (g++ -O3 -march=native
// -ffp-contract=off -shared).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

int64_t Leading(ffi::AnyBuffer::Dimensions dims, int64_t trailing) {
  int64_t b = 1;
  for (int64_t k = 0; k + trailing < static_cast<int64_t>(dims.size()); ++k) b *= dims[k];
  return b;
}

int64_t Dim(ffi::AnyBuffer::Dimensions dims, int64_t from_end) {
  return dims[dims.size() - from_end];
}

int64_t Trailing(ffi::AnyBuffer::Dimensions dims, int64_t rank) {
  int64_t m = 1;
  for (int64_t k = 1; k <= rank; ++k) m *= Dim(dims, k);
  return m;
}

// The first i >= from with sp[i] (n if none): skips 8 silent neurons per
// load, since few of them spike in any step.
inline int64_t NextSpike(const bool* sp, int64_t from, int64_t n) {
  int64_t i = from;
  while (i < n && (i & 7)) {
    if (sp[i]) return i;
    ++i;
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, sp + i, 8);
    if (word) return i + __builtin_ctzll(word) / 8;  // little-endian: lowest byte first
  }
  for (; i < n; ++i)
    if (sp[i]) return i;
  return n;
}

// Prefetch the `bytes` bytes at p: a spiking neuron's row of the synapse
// table is rarely in cache, and fetching all rows of a step's spikes at once
// overlaps their memory latencies.
inline void Prefetch(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o);
}

// dst[targets[i, c]] += weights[i, c] for every neuron i that spiked (in
// ascending order) and every column c (in order); targets >= n_valid are padding.
template <typename T>
void AddSpikes(const bool* sp, int64_t n, const int32_t* tg, const T* w, int64_t k,
               int64_t n_valid, T* dst) {
  constexpr int kAhead = 32;  // spikes whose rows are fetched together
  int64_t idx[kAhead];
  for (int64_t i = NextSpike(sp, 0, n); i < n;) {
    int n_idx = 0;
    for (; i < n && n_idx < kAhead; i = NextSpike(sp, i + 1, n)) {
      idx[n_idx++] = i;
      Prefetch(tg + i * k, k * sizeof(int32_t));
      Prefetch(w + i * k, k * sizeof(T));
    }
    for (int q = 0; q < n_idx; ++q) {
      const int32_t* row = tg + idx[q] * k;
      const T* wrow = w + idx[q] * k;
      for (int64_t c = 0; c < k; ++c) {
        const int64_t t = row[c];
        if (t < n_valid) dst[t] += wrow[c];
      }
    }
  }
}

// The same with delays: into dst[((step + delays[i, c]) % n_slots) * width + t].
template <typename T>
void AddSpikesDelayed(const bool* sp, int64_t n, const int32_t* tg, const T* w,
                      const int32_t* dl, int64_t k, int64_t n_valid, int64_t step,
                      int64_t n_slots, int64_t width, T* dst) {
  for (int64_t i = NextSpike(sp, 0, n); i < n; i = NextSpike(sp, i + 1, n)) {
    for (int64_t c = 0; c < k; ++c) {
      const int64_t t = tg[i * k + c];
      if (t >= n_valid) continue;
      dst[((step + dl[i * k + c]) % n_slots) * width + t] += w[i * k + c];
    }
  }
}

template <typename T>
void Deliver(const bool* spike, const int32_t* targets, const T* weights,
             const int32_t* delays, const int32_t* step, const T* pending, const T* scale,
             int64_t n_scale, T* out,
             int64_t batch, int64_t n, int64_t rows, int64_t k, int64_t m,
             bool b_spike, bool b_tg, bool b_w, bool b_delay, bool b_step, bool b_pend,
             int64_t n_slots, int64_t width, int64_t n_valid) {
  for (int64_t b = 0; b < batch; ++b) {
    const bool* sp = spike + (b_spike ? b * n : 0);
    const int32_t* tg = targets + (b_tg ? b * rows * k : 0);
    const T* w = weights + (b_w ? b * rows * k : 0);
    const T* src = pending + (b_pend ? b * m : 0);
    T* dst = out + b * m;
    if (n_scale > 0) {
      const int64_t block = m / n_scale;
      for (int64_t c = 0; c < n_scale; ++c) {
        const T f = scale[c];
        for (int64_t j = c * block; j < (c + 1) * block; ++j) dst[j] = src[j] * f;
      }
    } else if (dst != src) {
      std::memcpy(dst, src, sizeof(T) * m);
    }
    if (n_slots > 1) {
      AddSpikesDelayed(sp, n, tg, w, delays + (b_delay ? b * rows * k : 0), k, n_valid,
                       step[b_step ? b : 0], n_slots, width, dst);
    } else {
      AddSpikes(sp, n, tg, w, k, n_valid, dst);
    }
  }
}

ffi::Error DeliverImpl(ffi::Buffer<ffi::PRED> spike, ffi::Buffer<ffi::S32> targets,
                       ffi::AnyBuffer weights, ffi::Buffer<ffi::S32> delays,
                       ffi::Buffer<ffi::S32> step, ffi::AnyBuffer pending,
                       ffi::AnyBuffer scale, ffi::Result<ffi::AnyBuffer> out, int64_t n_slots, int64_t width,
                       int64_t n_valid, int64_t rank) {
  if (rank < 1 || static_cast<int64_t>(out->dimensions().size()) < rank)
    return ffi::Error::InvalidArgument("pending has fewer dimensions than `rank`");
  const int64_t batch = Leading(out->dimensions(), rank);
  const int64_t m = Trailing(out->dimensions(), rank);
  const int64_t n = Dim(spike.dimensions(), 1);
  const int64_t rows = Dim(targets.dimensions(), 2);
  const int64_t k = Dim(targets.dimensions(), 1);
  if (rows < n) return ffi::Error::InvalidArgument("synapse table has fewer rows than neurons");
  if (Trailing(pending.dimensions(), rank) != m)
    return ffi::Error::InvalidArgument("pending and output sizes differ");
  if (n_slots > 1 && (Dim(delays.dimensions(), 2) != rows || Dim(delays.dimensions(), 1) != k))
    return ffi::Error::InvalidArgument("delays must be shaped like targets");
  auto batched = [batch](int64_t b, bool* is) {
    *is = b == batch && batch != 1;
    return b == batch || b == 1;
  };
  bool b_spike, b_tg, b_w, b_delay = false, b_step, b_pend;
  if (Dim(weights.dimensions(), 2) != rows || Dim(weights.dimensions(), 1) != k)
    return ffi::Error::InvalidArgument("weights must be shaped like targets");
  if (!batched(Leading(spike.dimensions(), 1), &b_spike) ||
      !batched(Leading(targets.dimensions(), 2), &b_tg) ||
      !batched(Leading(weights.dimensions(), 2), &b_w) ||
      !batched(step.element_count(), &b_step) ||
      !batched(Leading(pending.dimensions(), rank), &b_pend) ||
      (n_slots > 1 && !batched(Leading(delays.dimensions(), 2), &b_delay)))
    return ffi::Error::InvalidArgument(
        "every operand's batch size must be the output's or 1");
  const int64_t n_scale = scale.element_count();
  if (weights.element_type() != out->element_type() ||
      pending.element_type() != out->element_type() ||
      scale.element_type() != out->element_type())
    return ffi::Error::InvalidArgument("weights, pending, scale and output must share a dtype");
  if (n_scale > 0 && (Dim(scale.dimensions(), 1) != n_scale || m % n_scale != 0))
    return ffi::Error::InvalidArgument("scale must be shared by the batch, (C,) with C dividing the size");
  const bool* sp = spike.typed_data();
  const int32_t* tg = targets.typed_data();
  const int32_t* dl = delays.typed_data();
  const int32_t* st = step.typed_data();
  switch (out->element_type()) {
    case ffi::DataType::F32:
      Deliver<float>(sp, tg, static_cast<const float*>(weights.untyped_data()), dl, st,
                     static_cast<const float*>(pending.untyped_data()),
                     static_cast<const float*>(scale.untyped_data()), n_scale,
                     static_cast<float*>(out->untyped_data()), batch, n, rows, k, m, b_spike,
                     b_tg, b_w, b_delay, b_step, b_pend, n_slots, width, n_valid);
      break;
    case ffi::DataType::F64:
      Deliver<double>(sp, tg, static_cast<const double*>(weights.untyped_data()), dl, st,
                      static_cast<const double*>(pending.untyped_data()),
                      static_cast<const double*>(scale.untyped_data()), n_scale,
                      static_cast<double*>(out->untyped_data()), batch, n, rows, k, m,
                      b_spike, b_tg, b_w, b_delay, b_step, b_pend, n_slots, width, n_valid);
      break;
    default:
      return ffi::Error::InvalidArgument("weights must be float32 or float64");
  }
  return ffi::Error::Success();
}

// The number of true entries of sp[0, m): a bool is one byte, 0 or 1, so the
// bits set in 8 of them are their count.
inline int32_t CountTrue(const bool* sp, int64_t m) {
  int64_t count = 0, i = 0;
  for (; i + 8 <= m; i += 8) {
    uint64_t word;
    std::memcpy(&word, sp + i, 8);
    count += __builtin_popcountll(word);
  }
  for (; i < m; ++i) count += sp[i];
  return static_cast<int32_t>(count);
}

// Spikes per population: counts[b, p] = number of spike[b, i] with
// offsets[p] <= i < offsets[p + 1]. One call instead of XLA's slices and
// tree reductions (five small kernels per step for two populations).
ffi::Error CountImpl(ffi::Buffer<ffi::PRED> spike, ffi::Buffer<ffi::S32> offsets,
                     ffi::ResultBuffer<ffi::S32> counts) {
  const int64_t n = Dim(spike.dimensions(), 1), batch = Leading(spike.dimensions(), 1);
  const int64_t n_pop = Dim(offsets.dimensions(), 1) - 1;
  const int32_t* off = offsets.typed_data();  // the last row (shared under vmap)
  off += offsets.element_count() - (n_pop + 1);
  if (n_pop < 1 || off[0] != 0 || off[n_pop] != n || counts->element_count() != batch * n_pop)
    return ffi::Error::InvalidArgument("offsets must be (P + 1,) from 0 to N; counts (..., P)");
  for (int64_t b = 0; b < batch; ++b) {
    const bool* sp = spike.typed_data() + b * n;
    int32_t* out = counts->typed_data() + b * n_pop;
    for (int64_t p = 0; p < n_pop; ++p) out[p] = CountTrue(sp + off[p], off[p + 1] - off[p]);
  }
  return ffi::Error::Success();
}


// One step of a network of LIF neurons (forward Euler) with exponential
// conductance or current channels and delta channels, then the delivery of
// its spikes (LifNetwork, Deliveries): what make_network_step's pure-JAX step
// does in ~5 XLA kernels and the delivery call, in one pass over the neurons.
// Per neuron i:
//   I   = sum over conductance channels c of g[c, i] (e_rev[c] - v[i])
//         + sum over current channels of g[c, i]  + ext[i]
//   v'  = v + dt (-(v - v_rest) + R I) / tau_m
//   held = refractory > 0;  v' = held ? v_reset : v'
//   spike = v' >= v_th and not held;  v' = spike ? v_reset : v'
//   refractory' = spike ? n_ref : max(refractory - 1, 0)
//   g'[c, i] = g[c, i] decay[c], then the delivery (see Deliveries: delays,
//   delta channels).
// The same bits as the JAX step compiled by XLA:CPU into simulate's loop: the
// same operations in the same order, and fused multiply-adds exactly where
// LLVM contracts XLA's code (Fma, FmaV); the library is built with
// -ffp-contract=off so that GCC adds no others. (XLA turns a division by a
// broadcast scalar into a product with its inverse in a lone step, not in the
// loop.) Parameters and ext have 1 or N entries per run, per run or shared by
// the batch.
template <typename T>
struct PerNeuron {  // an operand with 1 or n entries per run, batched or shared
  const T* data;
  int64_t size, batch_stride;
};

// a b + c as XLA:CPU computes it: LLVM contracts a product feeding an addition
// into one fused multiply-add where the CPU has them.
template <typename T>
inline T Fma(T a, T b, T c) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// GCC vector extensions: N lanes of E (N = 1 for the tail of a population).
// Loads and stores go through the unaligned variant, typed: a memcpy would be
// a character access, which may alias anything and makes GCC reload every
// loop-invariant field after each store.
template <typename E, int N>
struct Lanes {
  typedef E type __attribute__((vector_size(N * sizeof(E))));
  typedef E unaligned __attribute__((vector_size(N * sizeof(E)), aligned(sizeof(E))));
};

template <int N, typename E>
inline typename Lanes<E, N>::type LoadN(const E* p) {
  return *reinterpret_cast<const typename Lanes<E, N>::unaligned*>(p);
}

template <int N, typename E>
inline void StoreN(E* p, typename Lanes<E, N>::type x) {
  *reinterpret_cast<typename Lanes<E, N>::unaligned*>(p) = x;
}

template <typename V>
inline V FmaV(V a, V b, V c) {  // one vfmadd where the CPU has them
  typedef std::remove_reference_t<decltype(a[0])> E;
#if defined(__AVX512F__)  // GCC does not always turn the lane loop into one
  if constexpr (sizeof(V) == 64 && std::is_same_v<E, float>)
    return reinterpret_cast<V>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a),
                                               reinterpret_cast<__m512>(b),
                                               reinterpret_cast<__m512>(c)));
  if constexpr (sizeof(V) == 64 && std::is_same_v<E, double>)
    return reinterpret_cast<V>(_mm512_fmadd_pd(reinterpret_cast<__m512d>(a),
                                               reinterpret_cast<__m512d>(b),
                                               reinterpret_cast<__m512d>(c)));
#endif
  V r;
  for (int l = 0; l < int(sizeof(V) / sizeof(E)); ++l) r[l] = Fma(a[l], b[l], c[l]);
  return r;
}

// One term of the input current: x (e - v) (a conductance, product) or x (a
// current channel, or ext); channels also write x decay to out. A delta
// channel is a term only for its decay (in_current false).
template <typename T>
struct Term {
  PerNeuron<T> x;
  T e, decay;
  bool product, in_current;
  T* out;  // null for ext
};

constexpr int64_t kMaxChannels = 16;

// One run's operands (batch offsets applied).
template <typename T>
struct LifRun {
  const T* v;
  const int32_t* refr;
  PerNeuron<T> tau, r_m, v_rest, v_th, v_reset;
  PerNeuron<int32_t> n_ref;
  Term<T> terms[kMaxChannels + 1];
  int n_terms;
  T dt;
  T* v_out;
  int32_t* refr_out;
  bool* spike_out;
};

constexpr int kVectors = 16;  // vectors per block: its current stays in L1

// Entries [i, i + N) of an operand with 1 or n entries.
template <int N, typename T>
inline typename Lanes<T, N>::type Get(const PerNeuron<T>& a, int64_t i) {
  return a.size == 1 ? typename Lanes<T, N>::type{} + a.data[0] : LoadN<N>(a.data + i);
}

// The input current of m vectors of N neurons from i0: the terms summed left
// to right with XLA:CPU's contractions (an addition of a product not yet
// rounded is a fused multiply-add of it, of the left operand's product when
// both are); the channels' decayed values are stored on the way. Every term
// is one pass over the block, its kind decided once.
template <int N, typename T>
__attribute__((noinline)) void Current(const LifRun<T>& r, int64_t i0, int m,
                                       typename Lanes<T, N>::type* cur) {
  typedef typename Lanes<T, N>::type V;
  V pa[kVectors], pb[kVectors];  // the first term's product, not yet rounded
  bool pending = false;
  int seen = 0;  // terms in the sum so far
  for (int q = 0; q < r.n_terms; ++q) {
    const Term<T> t = r.terms[q];
    if (!t.in_current) {
      for (int j = 0; j < m; ++j) StoreN<N>(t.out + i0 + j * N, Get<N>(t.x, i0 + j * N) * t.decay);
      continue;
    }
    for (int j = 0; j < m; ++j) {
      const int64_t i = i0 + j * N;
      const V x = Get<N>(t.x, i);
      if (t.out) StoreN<N>(t.out + i, x * t.decay);
      const V y = t.e - LoadN<N>(r.v + i);
      if (seen == 0) {
        if (t.product) pa[j] = x, pb[j] = y;
        else cur[j] = x;
      } else if (pending) {
        cur[j] = FmaV(pa[j], pb[j], t.product ? x * y : x);
      } else {
        cur[j] = t.product ? FmaV(x, y, cur[j]) : cur[j] + x;
      }
    }
    pending = seen++ == 0 && t.product;
  }
  for (int j = 0; j < m; ++j) {
    if (seen == 0) cur[j] = V{};
    if (pending) cur[j] = pa[j] * pb[j];
  }
}

// The membrane, threshold, reset and refractory update of m vectors of N
// neurons from i0. Every input is loaded before the outputs are stored (the
// state is updated in place).
template <int N, typename T>
__attribute__((noinline)) void Membrane(const LifRun<T>& r, int64_t i0, int m,
                                        const typename Lanes<T, N>::type* cur) {
  typedef typename Lanes<T, N>::type V;
  typedef typename Lanes<int32_t, N>::type VI;
  typedef typename Lanes<uint8_t, N>::type VB;
  const V dt = V{} + r.dt;
  uint8_t spikes[kVectors * N];  // stored at the end: a byte store may alias anything
  for (int j = 0; j < m; ++j) {
    const int64_t i = i0 + j * N;
    const V v = LoadN<N>(r.v + i);
    const V num = FmaV(Get<N>(r.r_m, i), cur[j], -(v - Get<N>(r.v_rest, i)));
    const V vn = FmaV(num / Get<N>(r.tau, i), dt, v);
    const VI ref = LoadN<N>(r.refr + i);
    const auto held = __builtin_convertvector(ref > 0, decltype(vn < vn));
    const auto spike = (vn >= Get<N>(r.v_th, i)) & ~held;
    const V reset = Get<N>(r.v_reset, i);
    const VI spike_i = __builtin_convertvector(spike, VI), n_ref = Get<N>(r.n_ref, i);
    StoreN<N>(r.v_out + i, (held | spike) ? reset : vn);
    StoreN<N>(r.refr_out + i, spike_i ? n_ref : (ref > 0 ? ref - 1 : VI{}));
    StoreN<N>(spikes + j * N, __builtin_convertvector(spike_i & 1, VB));
  }
  std::memcpy(r.spike_out + i0, spikes, m * N);
}

// Neurons [i0, i0 + m N). (Current and Membrane stay out of line: inlined
// into LifNetwork, GCC made the step 20 % slower.)
template <int N, typename T>
void LifBlock(const LifRun<T>& r, int64_t i0, int m) {
  typename Lanes<T, N>::type cur[kVectors];
  Current<N>(r, i0, m, cur);
  Membrane<N>(r, i0, m, cur);
}

struct LifShape {
  int64_t batch, n, n_ch, rows, k, n_valid, n_slots, width;
  bool b_v, b_ch, b_tg, b_w, b_dl, b_step, b_buf, has_ext;
};

// After the neurons: the spikes delivered into the channels, already decayed
// (no delays), or into the ring buffer of rows of `width`: the channels then
// become g decay + this step's row (one fused multiply-add, as XLA's fusion of
// the two), and the row is cleared. Delta channels then jump into v and are
// cleared.
template <typename T>
void Deliveries(const LifShape& s, const bool* spike, const int32_t* tg, const T* w,
                const int32_t* dl, int64_t step, const int32_t* kinds, const T* decay,
                const T* buf_in, T* buf, T* chans, T* v) {
  const int64_t n = s.n;
  if (s.n_slots == 1) {
    AddSpikes(spike, n, tg, w, s.k, s.n_valid, chans);
  } else {
    if (buf != buf_in) std::copy(buf_in, buf_in + s.n_slots * s.width, buf);
    AddSpikesDelayed(spike, n, tg, w, dl, s.k, s.n_valid, step, s.n_slots, s.width, buf);
    T* row = buf + (step % s.n_slots) * s.width;
    for (int64_t c = 0; c < s.n_ch; ++c)
      for (int64_t i = c * n; i < (c + 1) * n; ++i) chans[i] = Fma(chans[i], decay[c], row[i]);
    std::fill(row, row + s.width, T(0));
  }
  T* delta[kMaxChannels];
  int n_delta = 0;
  for (int64_t c = 0; c < s.n_ch; ++c)
    if (kinds[c] == 2) delta[n_delta++] = chans + c * n;
  if (n_delta == 0) return;
  for (int64_t i = 0; i < n; ++i) {
    T jump = T(0);  // the delta channels' sum (XLA's reduction), then v + jump
    for (int q = 0; q < n_delta; ++q) jump += delta[q][i];
    v[i] = v[i] + jump;
  }
  for (int q = 0; q < n_delta; ++q) std::fill(delta[q], delta[q] + n, T(0));
}

template <typename T>
PerNeuron<T> OfRun(const PerNeuron<T>& a, int64_t b) {
  return {a.data + b * a.batch_stride, a.size, 0};
}

template <typename T>
void LifNetwork(const LifShape& s, const T* v, const int32_t* refr, const T* chans,
                const T* buffer, const PerNeuron<T>* par,  // ext, tau_m, R, v_rest, v_th, v_reset
                const PerNeuron<int32_t>& n_ref, const int32_t* targets, const T* weights,
                const int32_t* delays, const int32_t* step, const T* decay, const T* e_rev,
                const int32_t* kinds, T dt, T* v_out, int32_t* refr_out, bool* spike_out,
                T* chans_out, T* buffer_out) {
  constexpr int L = 64 / sizeof(T);  // one AVX-512 register (two AVX ones)
  const int64_t n = s.n;
  for (int64_t b = 0; b < s.batch; ++b) {
    LifRun<T> r;
    r.v = v + (s.b_v ? b * n : 0);
    r.refr = refr + (s.b_v ? b * n : 0);
    r.tau = OfRun(par[1], b), r.r_m = OfRun(par[2], b), r.v_rest = OfRun(par[3], b);
    r.v_th = OfRun(par[4], b), r.v_reset = OfRun(par[5], b), r.n_ref = OfRun(n_ref, b);
    r.dt = dt;
    r.v_out = v_out + b * n, r.refr_out = refr_out + b * n, r.spike_out = spike_out + b * n;
    const T* gb = chans + (s.b_ch ? b * s.n_ch * n : 0);
    T* go = chans_out + b * s.n_ch * n;
    r.n_terms = 0;
    auto channels = [&](int kind) {  // with delays, the decay comes in Deliveries
      for (int64_t c = 0; c < s.n_ch; ++c)
        if (kinds[c] == kind)
          r.terms[r.n_terms++] = {{gb + c * n, n, 0}, e_rev[c], s.n_slots > 1 ? T(1) : decay[c],
                                  kind == 0, kind != 2, go + c * n};
    };
    channels(0);  // conductances, then currents, then ext: the current's order
    channels(1);
    if (s.has_ext) r.terms[r.n_terms++] = {OfRun(par[0], b), T(0), T(0), false, true, nullptr};
    channels(2);  // delta channels: only their decay here
    const int64_t full = n / L;
    for (int64_t v0 = 0; v0 < full; v0 += kVectors)
      LifBlock<L>(r, v0 * L, static_cast<int>(std::min<int64_t>(kVectors, full - v0)));
    for (int64_t i = full * L; i < n; i += kVectors)
      LifBlock<1>(r, i, static_cast<int>(std::min<int64_t>(kVectors, n - i)));
    const int64_t ring = s.n_slots * s.width;
    Deliveries(s, r.spike_out, targets + (s.b_tg ? b * s.rows * s.k : 0),
               weights + (s.b_w ? b * s.rows * s.k : 0),
               delays + (s.b_dl ? b * s.rows * s.k : 0), step[s.b_step ? b : 0], kinds, decay,
               buffer + (s.b_buf ? b * ring : 0), buffer_out + b * ring, go, r.v_out);
  }
}

template <typename T>
PerNeuron<T> Param(const ffi::AnyBuffer& a, int64_t batch, int64_t n, bool* ok) {
  const int64_t size = Dim(a.dimensions(), 1), lead = Leading(a.dimensions(), 1);
  *ok = *ok && (size == 1 || size == n) && (lead == 1 || lead == batch);
  return {static_cast<const T*>(a.untyped_data()), size, lead == batch && batch != 1 ? size : 0};
}

// The LIF step's operands as XLA passes them.
struct LifBuffers {
  ffi::AnyBuffer v, chans, buffer, weights, decay, e_rev;
  ffi::Buffer<ffi::S32> refr, n_ref, targets, delays, step, kinds;
  const ffi::AnyBuffer* par;  // ext, tau_m, R, v_rest, v_th, v_reset
};

template <typename T>
ffi::Error LifTyped(const LifShape& s, const LifBuffers& in, double dt, ffi::AnyBuffer* v_out,
                    int32_t* refr_out, bool* spike_out, ffi::AnyBuffer* chans_out,
                    ffi::AnyBuffer* buffer_out) {
  bool ok = true;
  PerNeuron<T> p[6];
  for (int q = 0; q < 6; ++q) {
    if (in.par[q].element_type() != in.v.element_type())
      return ffi::Error::InvalidArgument("parameters and ext must have v's dtype");
    p[q] = Param<T>(in.par[q], s.batch, s.n, &ok);
  }
  const auto& n_ref = in.n_ref;
  const int64_t r_size = Dim(n_ref.dimensions(), 1), r_lead = Leading(n_ref.dimensions(), 1);
  ok = ok && (r_size == 1 || r_size == s.n) && (r_lead == 1 || r_lead == s.batch);
  if (!ok) return ffi::Error::InvalidArgument("parameters and ext: (..., 1) or (..., N)");
  PerNeuron<int32_t> nr{n_ref.typed_data(), r_size,
                        r_lead == s.batch && s.batch != 1 ? r_size : 0};
  auto d = [](const ffi::AnyBuffer& a) { return static_cast<const T*>(a.untyped_data()); };
  auto o = [](ffi::AnyBuffer* a) { return static_cast<T*>(a->untyped_data()); };
  LifNetwork<T>(s, d(in.v), in.refr.typed_data(), d(in.chans), d(in.buffer), p, nr,
                in.targets.typed_data(), d(in.weights), in.delays.typed_data(),
                in.step.typed_data(), d(in.decay), d(in.e_rev), in.kinds.typed_data(),
                static_cast<T>(dt), o(v_out), refr_out, spike_out, o(chans_out), o(buffer_out));
  return ffi::Error::Success();
}

// The operands' shapes against each other (see the handler's binding below).
ffi::Error LifShapes(const LifBuffers& in, const ffi::AnyBuffer& v_out, int64_t has_ext,
                     int64_t n_slots, LifShape* out) {
  LifShape& s = *out;
  s.has_ext = has_ext != 0;
  s.n = Dim(v_out.dimensions(), 1);
  s.batch = Leading(v_out.dimensions(), 1);
  s.n_ch = Dim(in.chans.dimensions(), 2);
  s.rows = Dim(in.targets.dimensions(), 2);
  s.k = Dim(in.targets.dimensions(), 1);
  s.n_valid = s.n_ch * s.n;  // targets at or past it are padding
  s.n_slots = n_slots;
  s.width = n_slots > 1 ? Dim(in.buffer.dimensions(), 1) : 0;
  auto lead = [&s](int64_t l, bool* is) {
    *is = l == s.batch && s.batch != 1;
    return l == s.batch || l == 1;
  };
  s.b_dl = s.b_buf = false;
  if (s.rows < s.n || Dim(in.chans.dimensions(), 1) != s.n || Dim(in.v.dimensions(), 1) != s.n ||
      Dim(in.refr.dimensions(), 1) != s.n || in.decay.element_count() != s.n_ch ||
      in.e_rev.element_count() != s.n_ch || in.kinds.element_count() != s.n_ch ||
      s.n_ch > kMaxChannels ||
      Dim(in.weights.dimensions(), 2) != s.rows || Dim(in.weights.dimensions(), 1) != s.k ||
      !lead(Leading(in.v.dimensions(), 1), &s.b_v) ||
      Leading(in.refr.dimensions(), 1) != Leading(in.v.dimensions(), 1) ||
      !lead(Leading(in.chans.dimensions(), 2), &s.b_ch) ||
      !lead(Leading(in.targets.dimensions(), 2), &s.b_tg) ||
      !lead(Leading(in.weights.dimensions(), 2), &s.b_w) ||
      !lead(in.step.element_count(), &s.b_step))
    return ffi::Error::InvalidArgument(
        "v, refractory (..., N), channels (..., C <= 16, N), synapse tables (..., R >= N, K), "
        "decay, e_rev, kinds (C,), step (...); batch sizes the output's or 1");
  if (n_slots > 1 &&
      (Dim(in.buffer.dimensions(), 2) != n_slots || s.width != s.n_valid + 1 ||
       Dim(in.delays.dimensions(), 2) != s.rows || Dim(in.delays.dimensions(), 1) != s.k ||
       !lead(Leading(in.buffer.dimensions(), 2), &s.b_buf) ||
       !lead(Leading(in.delays.dimensions(), 2), &s.b_dl)))
    return ffi::Error::InvalidArgument(
        "with delays: buffer (..., n_slots, C N + 1), delays shaped like targets");
  for (const ffi::AnyBuffer* a : {&in.v, &in.chans, &in.weights, &in.decay, &in.e_rev,
                                  &in.buffer})
    if (a->element_type() != v_out.element_type())
      return ffi::Error::InvalidArgument("v, channels, buffer, weights, decay, e_rev: one dtype");
  return ffi::Error::Success();
}

ffi::Error LifImpl(ffi::AnyBuffer v, ffi::Buffer<ffi::S32> refr, ffi::AnyBuffer chans,
                   ffi::AnyBuffer buffer, ffi::AnyBuffer ext, ffi::AnyBuffer tau_m,
                   ffi::AnyBuffer r, ffi::AnyBuffer v_rest, ffi::AnyBuffer v_th,
                   ffi::AnyBuffer v_reset, ffi::Buffer<ffi::S32> n_ref,
                   ffi::Buffer<ffi::S32> targets, ffi::AnyBuffer weights,
                   ffi::Buffer<ffi::S32> delays, ffi::Buffer<ffi::S32> step,
                   ffi::AnyBuffer decay, ffi::AnyBuffer e_rev, ffi::Buffer<ffi::S32> kinds,
                   ffi::Result<ffi::AnyBuffer> v_out, ffi::Result<ffi::Buffer<ffi::S32>> refr_out,
                   ffi::Result<ffi::Buffer<ffi::PRED>> spike_out,
                   ffi::Result<ffi::AnyBuffer> chans_out, ffi::Result<ffi::AnyBuffer> buffer_out,
                   double dt, int64_t has_ext, int64_t n_slots) {
  const ffi::AnyBuffer par[6] = {ext, tau_m, r, v_rest, v_th, v_reset};
  const LifBuffers in{v, chans, buffer, weights, decay, e_rev,
                      refr, n_ref, targets, delays, step, kinds, par};
  LifShape s;
  ffi::Error err = LifShapes(in, *v_out, has_ext, n_slots, &s);
  if (err.failure()) return err;
  switch (v_out->element_type()) {
    case ffi::DataType::F32:
      return LifTyped<float>(s, in, dt, &(*v_out), refr_out->typed_data(),
                             spike_out->typed_data(), &(*chans_out), &(*buffer_out));
    case ffi::DataType::F64:
      return LifTyped<double>(s, in, dt, &(*v_out), refr_out->typed_data(),
                              spike_out->typed_data(), &(*chans_out), &(*buffer_out));
    default:
      return ffi::Error::InvalidArgument("v must be float32 or float64");
  }
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(NmmjaxSpikeCount, CountImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()  // spike (..., N)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // offsets (P + 1,)
                                  .Ret<ffi::Buffer<ffi::S32>>());  // counts (..., P)

XLA_FFI_DEFINE_HANDLER_SYMBOL(NmmjaxSpikeDeliver, DeliverImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()  // spike (..., N)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // targets (..., R, K)
                                  .Arg<ffi::AnyBuffer>()          // weights (..., R, K)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // delays (..., R, K)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // step (...)
                                  .Arg<ffi::AnyBuffer>()          // pending (..., M)
                                  .Arg<ffi::AnyBuffer>()          // scale (C,) or (0,)
                                  .Ret<ffi::AnyBuffer>()          // out (..., M)
                                  .Attr<int64_t>("n_slots")
                                  .Attr<int64_t>("width")
                                  .Attr<int64_t>("n_valid")
                                  .Attr<int64_t>("rank"));  // pending's own dims

XLA_FFI_DEFINE_HANDLER_SYMBOL(NmmjaxLifNetwork, LifImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()          // v (..., N)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // refractory (..., N)
                                  .Arg<ffi::AnyBuffer>()          // channels (..., C, N)
                                  .Arg<ffi::AnyBuffer>()          // buffer (..., S, C N + 1)
                                  .Arg<ffi::AnyBuffer>()          // ext (..., 1 | N)
                                  .Arg<ffi::AnyBuffer>()          // tau_m (..., 1 | N)
                                  .Arg<ffi::AnyBuffer>()          // R
                                  .Arg<ffi::AnyBuffer>()          // v_rest
                                  .Arg<ffi::AnyBuffer>()          // v_th
                                  .Arg<ffi::AnyBuffer>()          // v_reset
                                  .Arg<ffi::Buffer<ffi::S32>>()   // n_ref (..., 1 | N)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // targets (..., R, K)
                                  .Arg<ffi::AnyBuffer>()          // weights (..., R, K)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // delays (..., R, K)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // step (...)
                                  .Arg<ffi::AnyBuffer>()          // decay (C,)
                                  .Arg<ffi::AnyBuffer>()          // e_rev (C,)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // kinds (C,): 0 g, 1 I, 2 delta
                                  .Ret<ffi::AnyBuffer>()          // v (..., N)
                                  .Ret<ffi::Buffer<ffi::S32>>()   // refractory (..., N)
                                  .Ret<ffi::Buffer<ffi::PRED>>()  // spike (..., N)
                                  .Ret<ffi::AnyBuffer>()          // channels (..., C, N)
                                  .Ret<ffi::AnyBuffer>()          // buffer (..., S, C N + 1)
                                  .Attr<double>("dt")
                                  .Attr<int64_t>("has_ext")
                                  .Attr<int64_t>("n_slots"));
