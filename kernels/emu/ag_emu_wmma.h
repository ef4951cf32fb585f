/* ag_emu_wmma.h - the nvcuda::wmma tensor-core API for the CUDA emulator
 * (included at the end of ag_emu.h; kernels include <mma.h> only for nvcc).
 *
 * CUDA leaves the mapping of fragment elements to lanes unspecified, so this
 * emulation gives every lane a full copy of its tile: num_elements is the
 * tile size and x[e] is element (e / cols, e % cols). A kernel that only uses
 * x[] elementwise, combining fragments of one type, is as correct here as on
 * hardware; one that assumes a lane owns particular rows is not portable and
 * its results will differ here.
 *
 * load_matrix_sync, store_matrix_sync and mma_sync are warp collectives, as
 * on the GPU ("waits until all warp lanes have arrived"): each starts with a
 * full-warp synchronisation through the emulator, so a call inside a
 * lane-divergent branch is reported as a launch error. Each lane then loads,
 * multiplies or stores its whole copy. Lanes store identical values, so the
 * repeated stores are harmless, but a lane leaves store_matrix_sync before
 * the others have stored: code that reads the stored tile must __syncwarp()
 * first, which CUDA requires as well; without it the emulator can expose the
 * race as a wrong result.
 *
 * Supported: m16n16k16 with __half or __nv_bfloat16 inputs and float or
 * __half accumulators; row- and column-major a/b fragments; accumulator
 * load/store in mem_row_major or mem_col_major. Products are accumulated in
 * float in k order. */
#ifndef AG_EMU_WMMA_H
#define AG_EMU_WMMA_H

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

namespace detail {

template <class Use, int M, int N, int K> struct tile_shape;
template <int M, int N, int K> struct tile_shape<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K> struct tile_shape<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K> struct tile_shape<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};

inline float to_float(float v) { return v; }
inline float to_float(__half v) { return __half2float(v); }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> T from_float(float v);
template <> inline float from_float<float>(float v) { return v; }
template <> inline __half from_float<__half>(float v) { return __float2half_rn(v); }

/* The warp-collective entry of every *_sync call. */
inline void warp_arrive(const ::ag_emu::Site &site) {
  ::ag_emu::warp_collective(site, ::ag_emu::WarpArgs{::ag_emu::WarpOp::sync, 0xffffffffu, 0,
                                                     ::ag_emu::ShflMode::idx, 0, 32});
}

/* Offset of element (r, c) in memory with leading dimension ldm. */
inline size_t offset(bool col_major, int r, int c, unsigned ldm) {
  return col_major ? (size_t)c * ldm + (size_t)r : (size_t)r * ldm + (size_t)c;
}

} /* namespace detail */

template <class Use, int M, int N, int K, class T, class Layout = void> struct fragment {
  static_assert(M == 16 && N == 16 && K == 16, "the emulator supports wmma m16n16k16 only");
  using shape = detail::tile_shape<Use, M, N, K>;
  using element_type = T;
  static constexpr int num_elements = shape::rows * shape::cols;
  T x[num_elements];
};

template <class Use, int M, int N, int K, class T, class L>
inline void fill_fragment(fragment<Use, M, N, K, T, L> &f, const T &v) {
  for (int e = 0; e < f.num_elements; e++) f.x[e] = v;
}

/* a or b fragment: the layout is part of the type. */
template <class Use, int M, int N, int K, class T, class L>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L> &f, const T *p, unsigned ldm) {
  static_assert(std::is_same<L, row_major>::value || std::is_same<L, col_major>::value,
                "a matrix_a / matrix_b fragment needs row_major or col_major");
  detail::warp_arrive(AG_EMU_SITE("wmma::load_matrix_sync"));
  using S = typename fragment<Use, M, N, K, T, L>::shape;
  for (int r = 0; r < S::rows; r++)
    for (int c = 0; c < S::cols; c++)
      f.x[r * S::cols + c] = p[detail::offset(std::is_same<L, col_major>::value, r, c, ldm)];
}

template <int M, int N, int K, class T>
inline void load_matrix_sync(fragment<accumulator, M, N, K, T> &f, const T *p, unsigned ldm,
                             layout_t layout) {
  detail::warp_arrive(AG_EMU_SITE("wmma::load_matrix_sync"));
  for (int r = 0; r < M; r++)
    for (int c = 0; c < N; c++) f.x[r * N + c] = p[detail::offset(layout == mem_col_major, r, c, ldm)];
}

template <int M, int N, int K, class T>
inline void store_matrix_sync(T *p, const fragment<accumulator, M, N, K, T> &f, unsigned ldm,
                              layout_t layout) {
  detail::warp_arrive(AG_EMU_SITE("wmma::store_matrix_sync"));
  for (int r = 0; r < M; r++)
    for (int c = 0; c < N; c++) p[detail::offset(layout == mem_col_major, r, c, ldm)] = f.x[r * N + c];
}

/* d = a * b + c; d may be c. */
template <int M, int N, int K, class TA, class LA, class LB, class TC, class TD>
inline void mma_sync(fragment<accumulator, M, N, K, TD> &d,
                     const fragment<matrix_a, M, N, K, TA, LA> &a,
                     const fragment<matrix_b, M, N, K, TA, LB> &b,
                     const fragment<accumulator, M, N, K, TC> &c) {
  detail::warp_arrive(AG_EMU_SITE("wmma::mma_sync"));
  float fa[M * K], fb[K * N];
  for (int e = 0; e < M * K; e++) fa[e] = detail::to_float(a.x[e]);
  for (int e = 0; e < K * N; e++) fb[e] = detail::to_float(b.x[e]);
  for (int r = 0; r < M; r++)
    for (int n = 0; n < N; n++) {
      float acc = detail::to_float(c.x[r * N + n]);
      for (int k = 0; k < K; k++) acc += fa[r * K + k] * fb[k * N + n];
      d.x[r * N + n] = detail::from_float<TD>(acc);
    }
}

} /* namespace wmma */
} /* namespace nvcuda */

#endif
