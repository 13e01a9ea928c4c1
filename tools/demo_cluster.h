// tools/demo_cluster.h — `ringflow demo-cluster` (demo_cluster.cc), built
// when ringflow::bridge is (RINGFLOW_BUILD_BRIDGE, libnats-dev).
#ifndef RINGFLOW_TOOLS_DEMO_CLUSTER_H_
#define RINGFLOW_TOOLS_DEMO_CLUSTER_H_

namespace ringflow::tools {

int DemoClusterCommand(int argc, char** argv);

}  // namespace ringflow::tools

#endif  // RINGFLOW_TOOLS_DEMO_CLUSTER_H_
