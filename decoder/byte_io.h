// Little-endian binary files of decoder/ (llama2.c checkpoints and tokenizers, our .npaq): a reader that names the
// file, what it was reading and what the file should have been when the bytes run out, and a writer.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "decoder/llama.h"

namespace npusim::decoder {

class ByteReader {
 public:
  // `expected` completes the message for a short file, e.g. "not a checkpoint of the shape its header gives".
  ByteReader(const std::string& bytes, std::string path, std::string expected)
      : bytes_(bytes), path_(std::move(path)), expected_(std::move(expected)) {}
  template <class T>
  T value(const std::string& what) {
    T v;
    take(&v, sizeof v, what);
    return v;
  }
  // Checks the file holds `count` elements before allocating them: a header's sizes are untrusted.
  template <class T>
  void array(std::vector<T>* out, size_t count, const std::string& what) {
    if (count > left() / sizeof(T)) {
      fail(std::to_string(count) + " x " + std::to_string(sizeof(T)), what);  // the product may not fit
    }
    out->resize(count);
    take(out->data(), count * sizeof(T), what);
  }
  void take(void* out, size_t n, const std::string& what) {
    need(n, what);
    if (n > 0) std::memcpy(out, bytes_.data() + at_, n);  // memcpy of 0 bytes to a null pointer is undefined
    at_ += n;
  }
  void skip(size_t n, const std::string& what) {
    need(n, what);
    at_ += n;
  }
  void rewind() { at_ = 0; }
  size_t left() const { return bytes_.size() - at_; }

 private:
  void need(size_t n, const std::string& what) const {
    if (bytes_.size() - at_ < n) fail(std::to_string(n), what);
  }
  [[noreturn]] void fail(const std::string& bytes_needed, const std::string& what) const {
    throw InputError(path_ + ": ends at byte " + std::to_string(bytes_.size()) + " inside " + what + " (" +
                     bytes_needed + " bytes needed at byte " + std::to_string(at_) + "): " + expected_);
  }
  const std::string& bytes_;
  std::string path_, expected_;
  size_t at_ = 0;
};

class ByteWriter {
 public:
  template <class T>
  void value(T v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  template <class T>
  void array(const std::vector<T>& v) {
    bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string bytes;
};

// The seven int32 shape fields llama2.c's headers (and ours) carry: dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len. The vocabulary size is returned as read (the legacy format signs it).
inline int32_t read_shape(ByteReader& in, LlamaConfig* c) {
  c->dim = in.value<int32_t>("the header");
  c->hidden_dim = in.value<int32_t>("the header");
  c->n_layers = in.value<int32_t>("the header");
  c->n_heads = in.value<int32_t>("the header");
  c->n_kv_heads = in.value<int32_t>("the header");
  c->vocab_size = in.value<int32_t>("the header");
  c->seq_len = in.value<int32_t>("the header");
  return c->vocab_size;
}

inline void write_shape(ByteWriter& out, const LlamaConfig& c) {
  for (int32_t v : {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len})
    out.value(v);
}

}  // namespace npusim::decoder
