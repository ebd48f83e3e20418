#pragma once

namespace certgate::testing {

// kSanitizedBuild: this build (the whole build, servers included) runs under
// ASan or TSan, which pay shadow memory and quarantine per allocation, so
// memory bounds hold for real builds only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif
#else
inline constexpr bool kSanitizedBuild = false;
#endif

}  // namespace certgate::testing
