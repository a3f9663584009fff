// tensor.h: float32 tensors of up to four dimensions, and reverse-mode autograd.
//
// Layout: row-major (the last index moves fastest). Images are NCHW: (batch, channels, height,
// width). A batch of vectors is (B, F).
//
// Autograd in the style of micrograd, one node per tensor:
//   - every op makes a new Node holding its output, its parents and a backward closure;
//   - the closure reads the node's grad and *adds* into its parents' grads (a tensor used twice
//     receives both contributions);
//   - backward(loss) sorts the graph topologically and calls the closures from the loss down.
// Inside a NoGrad scope (sampling, evaluation) ops record nothing: no parents, no closures.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace ddpm {

// ---------------------------------------------------------------------------------------------
// Shape
// ---------------------------------------------------------------------------------------------
struct Shape {
    std::array<int, 4> dims{0, 0, 0, 0};
    int ndim = 0;

    Shape() = default;
    Shape(std::initializer_list<int> d);
    static Shape of(const std::vector<int>& d);

    int operator[](int i) const { return dims[i]; }
    int64_t numel() const;
    bool operator==(const Shape& o) const;
    bool operator!=(const Shape& o) const { return !(*this == o); }
    std::string str() const;  // "(256, 34)"
};

// ---------------------------------------------------------------------------------------------
// Node: the storage and the autograd record of one tensor
// ---------------------------------------------------------------------------------------------
struct Node {
    Shape shape;
    std::vector<float> data;            // numel() values, row-major
    std::vector<float> grad;            // empty until something adds into it
    bool requires_grad = false;
    const char* op = "leaf";            // which op made it ("linear", "gelu", ...)
    std::vector<std::shared_ptr<Node>> parents;
    std::function<void()> backward;     // adds d loss / d parents, given this->grad

    float* grad_buffer();               // allocates zeros on first use
};

class Tensor {
 public:
    std::shared_ptr<Node> node;

    Tensor() = default;
    explicit Tensor(std::shared_ptr<Node> n) : node(std::move(n)) {}

    static Tensor zeros(Shape shape, bool requires_grad = false);
    static Tensor full(Shape shape, float value, bool requires_grad = false);
    static Tensor from(Shape shape, std::vector<float> values, bool requires_grad = false);

    const Shape& shape() const { return node->shape; }
    int dim(int i) const { return node->shape[i]; }
    int ndim() const { return node->shape.ndim; }
    int64_t numel() const { return node->shape.numel(); }
    float* data() { return node->data.data(); }
    const float* data() const { return node->data.data(); }
    float* grad() { return node->grad_buffer(); }      // allocates zeros if needed
    bool has_grad() const { return !node->grad.empty(); }
    bool requires_grad() const { return node->requires_grad; }
    float item() const;                                 // the value of a one-element tensor
    float at(std::initializer_list<int> index) const;  // bounds-checked element read
    bool defined() const { return node != nullptr; }
};

// ---------------------------------------------------------------------------------------------
// Autograd
// ---------------------------------------------------------------------------------------------

// Seeds d loss / d loss = 1 and runs every backward closure in reverse topological order.
// loss must hold one element.
void backward(Tensor& loss);
// The same from any output: its grad is seeded with seed_grad (out.numel() values). Used by the
// gradient check, which differentiates sum_k R_k out_k for a fixed random R.
void backward_from(Tensor& out, const std::vector<float>& seed_grad);

// Sets the grads of the given tensors to zero (allocating them if needed).
void zero_grad(std::vector<Tensor>& tensors);

// While a NoGrad object lives (on this thread), ops record no graph.
class NoGrad {
 public:
    NoGrad();
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;

 private:
    bool previous_;
};
bool grad_enabled();

// For op authors: a fresh output node. It records `parents` (and so needs a backward closure) only
// when grad is enabled and some parent requires grad; check result.requires_grad() before attaching.
Tensor make_output(Shape shape, const char* op, std::initializer_list<Tensor> parents);
Tensor make_output(Shape shape, const char* op, const std::vector<Tensor>& parents);

}  // namespace ddpm
