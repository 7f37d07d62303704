// `npusim sweep --mpi` in a build without MPI (NPUSIM_WITH_MPI off): a clear error.
#include "common/error.h"
#include "sim/sweep.h"

namespace npusim::sim {

bool sweep_mpi(const SweepSpec&, const std::string&, const SweepOptions&, SweepSummary*) {
  throw InputError(
      "sweep --mpi: this npusim was built without MPI (configure with -DNPUSIM_WITH_MPI=ON; needs "
      "Debian's libopenmpi-dev)");
}

}  // namespace npusim::sim
