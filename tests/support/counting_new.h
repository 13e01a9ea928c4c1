// tests/support/counting_new.h — global operator new / delete replaced by
// versions that count calls while a counting window is open.
//
// Include from exactly one translation unit of a test executable (it
// defines the replacement operators). The window covers only the phase a
// test measures: threads are created before it opens and exit after it
// closed (a std::thread frees its state with operator delete on exit).
#ifndef RINGFLOW_TESTS_SUPPORT_COUNTING_NEW_H_
#define RINGFLOW_TESTS_SUPPORT_COUNTING_NEW_H_

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

// Written by the test's main thread only; read by every allocating thread.
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocations{0};
std::atomic<int64_t> g_deallocations{0};

// Relaxed: an allocation that matters happens after the window opened
// through a chain of acquire/release (go flag -> publish -> consume), so
// coherence makes the relaxed load see `true`; the counters are read by the
// main thread after the consumers' counts were acquired.
void NoteAllocation() noexcept {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
}
void NoteDeallocation() noexcept {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_deallocations.fetch_add(1, std::memory_order_relaxed);
  }
}

void* Allocate(std::size_t size) noexcept {
  NoteAllocation();
  return std::malloc(size == 0 ? 1 : size);
}

void* AllocateAligned(std::size_t size, std::align_val_t align) noexcept {
  NoteAllocation();
  std::size_t alignment = static_cast<std::size_t>(align);
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  void* p = nullptr;
  if (posix_memalign(&p, alignment, size == 0 ? 1 : size) != 0) return nullptr;
  return p;
}

void Deallocate(void* p) noexcept {
  if (p == nullptr) return;
  NoteDeallocation();
  std::free(p);
}

void* AllocateOrThrow(std::size_t size) {
  void* p = Allocate(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* AllocateAlignedOrThrow(std::size_t size, std::align_val_t align) {
  void* p = AllocateAligned(size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return AllocateOrThrow(size); }
void* operator new[](std::size_t size) { return AllocateOrThrow(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return Allocate(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return Allocate(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  return AllocateAlignedOrThrow(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return AllocateAlignedOrThrow(size, align);
}
void* operator new(std::size_t size, std::align_val_t align,
                   const std::nothrow_t&) noexcept {
  return AllocateAligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align,
                     const std::nothrow_t&) noexcept {
  return AllocateAligned(size, align);
}

void operator delete(void* p) noexcept { Deallocate(p); }
void operator delete[](void* p) noexcept { Deallocate(p); }
void operator delete(void* p, std::size_t) noexcept { Deallocate(p); }
void operator delete[](void* p, std::size_t) noexcept { Deallocate(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Deallocate(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  Deallocate(p);
}
void operator delete(void* p, std::align_val_t) noexcept { Deallocate(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Deallocate(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  Deallocate(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  Deallocate(p);
}
void operator delete(void* p, std::align_val_t,
                     const std::nothrow_t&) noexcept {
  Deallocate(p);
}
void operator delete[](void* p, std::align_val_t,
                       const std::nothrow_t&) noexcept {
  Deallocate(p);
}

namespace ringflow::testing {

struct AllocationCounts {
  int64_t allocations = 0;
  int64_t deallocations = 0;
};

// Opens the counting window. Main thread only; allocates nothing.
inline void StartCounting() noexcept {
  g_allocations.store(0, std::memory_order_relaxed);
  g_deallocations.store(0, std::memory_order_relaxed);
  // Seq_cst: everything the test does next (releasing the producers) is
  // ordered after the window opened.
  g_counting.store(true, std::memory_order_seq_cst);
}

// Closes the window and returns what it saw. Main thread only.
inline AllocationCounts StopCounting() noexcept {
  g_counting.store(false, std::memory_order_seq_cst);
  return {g_allocations.load(std::memory_order_relaxed),
          g_deallocations.load(std::memory_order_relaxed)};
}

}  // namespace ringflow::testing

#endif  // RINGFLOW_TESTS_SUPPORT_COUNTING_NEW_H_
