/* device_vec.h - a device copy of a host vector for the GPU self-tests
 * (test_*_gpu.cpp): allocated and filled on construction, freed on scope
 * exit; a failed allocation leaves get() null, which the launch then reports. */
#ifndef AG_EMU_DEVICE_VEC_H
#define AG_EMU_DEVICE_VEC_H

#include <cuda_runtime.h>

#include <vector>

template <class T>
class DeviceVec {
 public:
  explicit DeviceVec(const std::vector<T> &host) : n_(host.size()) {
    if (cudaMalloc(&p_, n_ * sizeof(T) + 1) != cudaSuccess) p_ = nullptr;
    if (p_) cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice);
  }
  explicit DeviceVec(size_t n) : DeviceVec(std::vector<T>(n)) {}
  ~DeviceVec() { cudaFree(p_); }
  DeviceVec(const DeviceVec &) = delete;
  DeviceVec &operator=(const DeviceVec &) = delete;

  T *get() const { return p_; }
  std::vector<T> to_host() const {
    std::vector<T> h(n_);
    if (cudaDeviceSynchronize() == cudaSuccess)
      cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
  }

 private:
  T *p_ = nullptr;
  size_t n_;
};

#endif
