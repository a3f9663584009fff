#include "core/tensor.h"

#include <algorithm>
#include <unordered_set>

#include "core/common.h"

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// Shape
// ---------------------------------------------------------------------------------------------
Shape::Shape(std::initializer_list<int> d) {
    if (d.size() < 1 || d.size() > 4) fail("Shape: 1 to 4 dimensions, got " + std::to_string(d.size()));
    for (int v : d) {
        if (v < 0) fail("Shape: negative dimension " + std::to_string(v));
        dims[ndim++] = v;
    }
}

Shape Shape::of(const std::vector<int>& d) {
    if (d.size() < 1 || d.size() > 4) fail("Shape: 1 to 4 dimensions, got " + std::to_string(d.size()));
    Shape s;
    for (int v : d) {
        if (v < 0) fail("Shape: negative dimension " + std::to_string(v));
        s.dims[s.ndim++] = v;
    }
    return s;
}

int64_t Shape::numel() const {
    if (ndim == 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= dims[i];
    return n;
}

bool Shape::operator==(const Shape& o) const {
    if (ndim != o.ndim) return false;
    for (int i = 0; i < ndim; ++i)
        if (dims[i] != o.dims[i]) return false;
    return true;
}

std::string Shape::str() const {
    std::string s = "(";
    for (int i = 0; i < ndim; ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + ")";
}


// ---------------------------------------------------------------------------------------------
// Node and Tensor
// ---------------------------------------------------------------------------------------------
float* Node::grad_buffer() {
    if (grad.empty()) grad.assign(data.size(), 0.0f);
    return grad.data();
}

Tensor Tensor::zeros(Shape shape, bool requires_grad) { return full(shape, 0.0f, requires_grad); }

Tensor Tensor::full(Shape shape, float value, bool requires_grad) {
    auto n = std::make_shared<Node>();
    n->shape = shape;
    n->data.assign(size_t(shape.numel()), value);
    n->requires_grad = requires_grad;
    return Tensor(n);
}

Tensor Tensor::from(Shape shape, std::vector<float> values, bool requires_grad) {
    if (int64_t(values.size()) != shape.numel())
        fail("Tensor::from: shape " + shape.str() + " needs " + std::to_string(shape.numel()) +
             " values, got " + std::to_string(values.size()));
    auto n = std::make_shared<Node>();
    n->shape = shape;
    n->data = std::move(values);
    n->requires_grad = requires_grad;
    return Tensor(n);
}

float Tensor::item() const {
    if (numel() != 1) fail("item(): tensor of shape " + shape().str() + " is not a single value");
    return node->data[0];
}

float Tensor::at(std::initializer_list<int> index) const {
    const Shape& s = shape();
    if (int(index.size()) != s.ndim) fail("at(): " + std::to_string(index.size()) + " indices for shape " + s.str());
    int64_t flat = 0;
    int axis = 0;
    for (int i : index) {
        if (i < 0 || i >= s[axis]) fail("at(): index " + std::to_string(i) + " out of range for shape " + s.str());
        flat = flat * s[axis] + i;
        ++axis;
    }
    return node->data[size_t(flat)];
}

// ---------------------------------------------------------------------------------------------
// Graph recording
// ---------------------------------------------------------------------------------------------
namespace {
thread_local bool g_grad_enabled = true;
}

NoGrad::NoGrad() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGrad::~NoGrad() { g_grad_enabled = previous_; }
bool grad_enabled() { return g_grad_enabled; }

Tensor make_output(Shape shape, const char* op, const std::vector<Tensor>& parents) {
    auto n = std::make_shared<Node>();
    n->shape = shape;
    n->data.resize(size_t(shape.numel()));
    n->op = op;
    if (g_grad_enabled) {
        for (const Tensor& p : parents)
            if (p.node->requires_grad) n->requires_grad = true;
        if (n->requires_grad)
            for (const Tensor& p : parents) n->parents.push_back(p.node);
    }
    return Tensor(n);
}

Tensor make_output(Shape shape, const char* op, std::initializer_list<Tensor> parents) {
    return make_output(shape, op, std::vector<Tensor>(parents));
}

// ---------------------------------------------------------------------------------------------
// backward: iterative depth-first topological sort, then closures from the loss down
// ---------------------------------------------------------------------------------------------
void backward(Tensor& loss) {
    if (loss.numel() != 1) fail("backward(): the loss must be one value, got shape " + loss.shape().str());
    backward_from(loss, {1.0f});
}

void backward_from(Tensor& loss, const std::vector<float>& seed_grad) {
    if (!loss.requires_grad()) fail("backward(): the output does not depend on anything that requires grad");
    if (int64_t(seed_grad.size()) != loss.numel())
        fail("backward(): " + std::to_string(seed_grad.size()) + " seed values for shape " + loss.shape().str());

    std::vector<Node*> order;  // children after their parents
    std::unordered_set<Node*> visited;
    std::vector<std::pair<Node*, size_t>> stack{{loss.node.get(), 0}};
    visited.insert(loss.node.get());
    while (!stack.empty()) {
        auto& [node, next_parent] = stack.back();
        if (next_parent < node->parents.size()) {
            Node* p = node->parents[next_parent++].get();
            if (p->requires_grad && visited.insert(p).second) stack.push_back({p, 0});
        } else {
            order.push_back(node);
            stack.pop_back();
        }
    }

    float* g = loss.grad();
    for (size_t i = 0; i < seed_grad.size(); ++i) g[i] += seed_grad[i];
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node* n = *it;
        if (n->backward) n->backward();
    }
}

void zero_grad(std::vector<Tensor>& tensors) {
    for (Tensor& t : tensors) {
        float* g = t.grad();
        std::fill(g, g + t.numel(), 0.0f);
    }
}

}  // namespace ddpm
