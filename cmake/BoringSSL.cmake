# Builds BoringSSL's crypto and ssl as static libraries.
#
# Default source: Debian's source package android-platform-external-boringssl,
# fetched by deploy/install-deps.sh into the build folder. Its
# android-sources.cmake lists every source with the x86-64 assembly already
# generated, so no Go is needed. Point CERTGATE_BORINGSSL_DIR at an upstream
# checkout instead and its own CMakeLists.txt is used.
#
# Everything is compiled with -fvisibility=hidden: gRPC from Debian links
# OpenSSL 3, whose symbols share BoringSSL's names. Hidden symbols never reach
# the dynamic symbol table, so libgrpc keeps binding to OpenSSL 3 while our
# code, linked against these archives first, binds to BoringSSL.

set(CERTGATE_BORINGSSL_DIR "${CMAKE_BINARY_DIR}/_deps/boringssl"
    CACHE PATH "BoringSSL source tree (Debian's android-platform-external-boringssl or upstream)")

if(EXISTS "${CERTGATE_BORINGSSL_DIR}/android-sources.cmake")
  set(BORINGSSL_ROOT "${CERTGATE_BORINGSSL_DIR}/")
  include("${CERTGATE_BORINGSSL_DIR}/android-sources.cmake")
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    message(FATAL_ERROR "certgate's BoringSSL build supports x86-64 only; got ${CMAKE_SYSTEM_PROCESSOR}")
  endif()
  enable_language(ASM)
  set(_bssl_flags -fvisibility=hidden -DBORINGSSL_IMPLEMENTATION -w)
  add_library(bssl_crypto STATIC ${crypto_sources} ${crypto_sources_linux_x86_64})
  target_include_directories(bssl_crypto SYSTEM PUBLIC "${CERTGATE_BORINGSSL_DIR}/src/include")
  target_compile_options(bssl_crypto PRIVATE ${_bssl_flags})
  set_target_properties(bssl_crypto PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 11)
  target_link_libraries(bssl_crypto PUBLIC Threads::Threads)
  add_library(bssl_ssl STATIC ${ssl_sources})
  target_compile_options(bssl_ssl PRIVATE ${_bssl_flags})
  set_target_properties(bssl_ssl PROPERTIES POSITION_INDEPENDENT_CODE ON CXX_STANDARD 17)
  target_link_libraries(bssl_ssl PUBLIC bssl_crypto)
  # `bssl speed` from the same tree: the crypto floor in the benchmarks.
  add_executable(bssl EXCLUDE_FROM_ALL ${tool_sources})
  target_compile_options(bssl PRIVATE -w)
  target_link_libraries(bssl PRIVATE bssl_ssl)
  set_target_properties(bssl PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")
elseif(EXISTS "${CERTGATE_BORINGSSL_DIR}/CMakeLists.txt")
  set(CMAKE_C_VISIBILITY_PRESET hidden)
  set(CMAKE_CXX_VISIBILITY_PRESET hidden)
  add_subdirectory("${CERTGATE_BORINGSSL_DIR}" "${CMAKE_BINARY_DIR}/_deps/boringssl-build" EXCLUDE_FROM_ALL)
  unset(CMAKE_C_VISIBILITY_PRESET)
  unset(CMAKE_CXX_VISIBILITY_PRESET)
  add_library(bssl_crypto ALIAS crypto)
  add_library(bssl_ssl ALIAS ssl)
else()
  message(FATAL_ERROR
    "No BoringSSL source at ${CERTGATE_BORINGSSL_DIR}. Run deploy/install-deps.sh "
    "(it fetches Debian's android-platform-external-boringssl there), or pass "
    "-DCERTGATE_BORINGSSL_DIR=<an upstream BoringSSL checkout>.")
endif()

# What project code links: BoringSSL ahead of anything that pulls OpenSSL 3.
add_library(certgate_boringssl INTERFACE)
target_link_libraries(certgate_boringssl INTERFACE bssl_ssl bssl_crypto)
