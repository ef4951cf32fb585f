# Every external dependency of aigc, found on the system and exposed as an
# imported target. Nothing is downloaded: the Debian packages that provide
# these are listed in third_party/debian-packages.txt, and the CUDA libraries
# come with the CUDA toolkit.

find_package(OpenMP REQUIRED COMPONENTS C CXX)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)

# oneDNN (libdnnl-dev): the CPU kernels' convolutions and products, as in
# PyTorch. Debian's build threads with OpenMP (libgomp), the runtime the CPU
# kernels use, so both share one thread pool.
find_path(AG_DNNL_INCLUDE oneapi/dnnl/dnnl.h REQUIRED)
find_library(AG_DNNL_LIB dnnl REQUIRED)
add_library(ag_dnnl INTERFACE)
target_include_directories(ag_dnnl INTERFACE ${AG_DNNL_INCLUDE})
target_link_libraries(ag_dnnl INTERFACE ${AG_DNNL_LIB})
add_library(ag::dnnl ALIAS ag_dnnl)

# cJSON (libcjson-dev).
find_package(cJSON CONFIG QUIET)
find_path(AG_CJSON_INCLUDE cjson/cJSON.h REQUIRED)
find_library(AG_CJSON_LIB cjson REQUIRED)
add_library(ag_cjson INTERFACE)
target_include_directories(ag_cjson INTERFACE ${AG_CJSON_INCLUDE})
target_link_libraries(ag_cjson INTERFACE ${AG_CJSON_LIB})
add_library(ag::cjson ALIAS ag_cjson)

# libpng (libpng-dev) reads and writes PNGs: it checks every chunk's CRC and
# bounds its memory (runtime/io/png.c).
find_package(PNG REQUIRED)

# LAPACK through LAPACKE (liblapacke-dev, liblapack-dev): the symmetric
# eigensolver behind the matrix square root of the FID (models/eval).
find_package(LAPACK REQUIRED)
find_path(AG_LAPACKE_INCLUDE lapacke.h REQUIRED)
find_library(AG_LAPACKE_LIB lapacke REQUIRED)
add_library(ag_lapack INTERFACE)
target_include_directories(ag_lapack INTERFACE ${AG_LAPACKE_INCLUDE})
target_link_libraries(ag_lapack INTERFACE ${AG_LAPACKE_LIB} LAPACK::LAPACK)
add_library(ag::lapack ALIAS ag_lapack)

# MPI (libopenmpi-dev) is optional until the distributed runtime lands.
find_package(MPI QUIET COMPONENTS C)

# Python with the `safetensors` package, used only by tests that check
# interoperability (tools/quickstart.sh installs the package).
find_program(AG_TEST_PYTHON NAMES python3)
if(NOT AG_TEST_PYTHON)
  set(AG_TEST_PYTHON "")
endif()

# Fashion-MNIST (dataset-fashion-mnist).
set(AG_FASHION_MNIST_DIR /usr/share/datasets/fashion-mnist CACHE PATH "Fashion-MNIST IDX files")

# CUDA toolkit: headers are needed even without AG_CUDA, because the
# CUDA-on-CPU emulator compiles the kernels with the host compiler against
# cuda_fp16.h / cuda_bf16.h.
find_package(CUDAToolkit QUIET)

set(AG_HAVE_CUDA OFF)
if(NOT AG_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND)
    set(AG_HAVE_CUDA ON)
  elseif(AG_CUDA STREQUAL "ON")
    message(FATAL_ERROR "AG_CUDA=ON but nvcc or the CUDA toolkit was not found")
  endif()
endif()

if(AG_HAVE_CUDA)
  if(NOT CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90)
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_library(AG_CUDNN_LIB cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
  find_library(AG_NCCL_LIB nccl HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
  find_path(AG_CUDNN_INCLUDE cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} REQUIRED)
  find_path(AG_NCCL_INCLUDE nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} REQUIRED)
  add_library(ag_cuda_libs INTERFACE)
  target_include_directories(ag_cuda_libs INTERFACE ${AG_CUDNN_INCLUDE} ${AG_NCCL_INCLUDE})
  target_link_libraries(ag_cuda_libs INTERFACE
    CUDA::cudart_static CUDA::cublas CUDA::cublasLt ${AG_CUDNN_LIB} ${AG_NCCL_LIB})
  add_library(ag::cuda ALIAS ag_cuda_libs)
endif()

set(AG_HAVE_EMU OFF)
if(CUDAToolkit_FOUND)
  set(AG_HAVE_EMU ON)
endif()
