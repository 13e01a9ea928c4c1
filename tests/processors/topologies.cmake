# Topology, worker-pool and allocation tests (included from
# tests/processors/CMakeLists.txt). Every executable runs threads, so each
# carries the `concurrency` label that CI's ThreadSanitizer pass selects.
# One label each: ringflow_add_test forwards LABELS to gtest_discover_tests
# unescaped, so a second label would be dropped.

ringflow_add_test(topologies_test
  SOURCES topologies_test.cc
  LABELS concurrency)

ringflow_add_test(worker_pool_test
  SOURCES worker_pool_test.cc
  LABELS concurrency)

# Its own executable: it replaces the global operator new / delete.
ringflow_add_test(no_allocation_test
  SOURCES no_allocation_test.cc
  LABELS concurrency)
