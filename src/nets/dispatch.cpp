// nets/dispatch.cpp: the choice between src/fast/'s whole-network versions of the toy eps-model and
// the plain ones of nets/eps_mlp.cpp (nets/dispatch.h).
#include "nets/dispatch.h"

#include "core/dispatch.h"
#include "core/ops.h"

namespace ddpm {

FastNets& fast_nets() {
    static FastNets table;
    return table;
}

Tensor EpsModel::forward(const Tensor& x_t, const std::vector<float>& t) const {
    // the fast training op only while src/fast/'s kernels are in place (a ReferenceOnly scope empties
    // their table, and the graph runs instead)
    if (auto fast = fast_nets().train_forward;
        fast && fast_kernels().linear_forward && !config.residual && grad_enabled()) {
        check_input(x_t, t);
        Tensor out = fast(*this, x_t, t);
        if (out.defined()) return out;
    }
    return graph_forward(x_t, t);
}

void eps_forward_shared_t(const EpsModel& model, float* eps_out, const float* x_t, int rows, int t) {
    if (auto fast = fast_nets().shared_t_forward) return fast(model, eps_out, x_t, rows, t);
    reference::eps_forward_shared_t(model, eps_out, x_t, rows, t);
}

}  // namespace ddpm
