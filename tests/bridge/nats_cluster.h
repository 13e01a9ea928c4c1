// tests/bridge/nats_cluster.h — the bridge tests' name for the cluster
// launcher, which lives in tools/internal/nats_cluster.h (shared with
// `ringflow demo-cluster` and the bridge benchmarks).

#ifndef RINGFLOW_TESTS_BRIDGE_NATS_CLUSTER_H_
#define RINGFLOW_TESTS_BRIDGE_NATS_CLUSTER_H_

#include "tools/internal/nats_cluster.h"

namespace ringflow::bridge_testing {

using tools_internal::FreePort;
using tools_internal::NatsCluster;
using tools_internal::NatsServerPath;

}  // namespace ringflow::bridge_testing

#endif  // RINGFLOW_TESTS_BRIDGE_NATS_CLUSTER_H_
