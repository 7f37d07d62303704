// llama2.c's tokenizer: a vocabulary of pieces with merge scores; encoding starts from UTF-8 characters (or byte
// tokens) and merges the best-scoring neighbouring pair until none merges, as llama2.c's encode() does.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/files.h"
#include "decoder/byte_io.h"
#include "decoder/llama.h"

namespace npusim::decoder {

namespace {

constexpr int kBos = 1, kEos = 2;
constexpr int kByteTokenOffset = 3;  // <0x00> is token 3

}  // namespace

Tokenizer::Tokenizer(const std::string& path, int vocab_size) {
  if (vocab_size <= kEos) {
    throw InputError(path + ": a vocabulary of " + std::to_string(vocab_size) + " pieces (the model's): BOS (" +
                     std::to_string(kBos) + ") and EOS (" + std::to_string(kEos) + ") need at least " +
                     std::to_string(kEos + 1));
  }
  const std::string bytes = read_file(path);
  ByteReader in(bytes, path, "a tokenizer of " + std::to_string(vocab_size) + " pieces expected");
  int32_t max_length = 0;
  max_length = in.value<int32_t>("the header");
  for (int i = 0; i < vocab_size; ++i) {
    const float score = in.value<float>("piece " + std::to_string(i));
    const int32_t length = in.value<int32_t>("piece " + std::to_string(i));
    if (length < 0 || length > max_length) {
      throw InputError(path + ": piece " + std::to_string(i) + " has length " + std::to_string(length) +
                       " (the header's longest is " + std::to_string(max_length) + ")");
    }
    if (static_cast<size_t>(length) > in.left()) {  // before allocating it: the length field is untrusted
      throw InputError(path + ": piece " + std::to_string(i) + " has length " + std::to_string(length) +
                       " but the file has " + std::to_string(in.left()) + " bytes left: a tokenizer of " +
                       std::to_string(vocab_size) + " pieces expected");
    }
    std::string piece(static_cast<size_t>(length), '\0');
    in.take(piece.data(), piece.size(), "piece " + std::to_string(i));
    vocab_.push_back(std::move(piece));
    scores_.push_back(score);
  }
  for (int i = 0; i < vocab_size; ++i) sorted_.emplace_back(vocab_[static_cast<size_t>(i)], i);
  std::sort(sorted_.begin(), sorted_.end());
}

int Tokenizer::lookup(const std::string& piece) const {
  const auto it = std::lower_bound(sorted_.begin(), sorted_.end(), std::make_pair(piece, -1));
  return it != sorted_.end() && it->first == piece ? it->second : -1;
}

std::vector<int> Tokenizer::encode(const std::string& text, bool bos, bool eos) const {
  std::vector<int> tokens;
  if (bos) tokens.push_back(kBos);
  if (!text.empty()) {
    const int prefix = lookup(" ");
    if (prefix >= 0) tokens.push_back(prefix);
  }
  // UTF-8 characters (a start byte and up to three continuation bytes), or their bytes as byte tokens.
  for (size_t i = 0; i < text.size();) {
    size_t n = 1;
    while (i + n < text.size() && n < 4 && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) ++n;
    const std::string character = text.substr(i, n);
    const int id = lookup(character);
    if (id >= 0) {
      tokens.push_back(id);
    } else {
      for (unsigned char b : character) {
        if (b + kByteTokenOffset >= static_cast<int>(vocab_.size())) {
          throw InputError("tokenizer: no byte token for 0x" + fmt::format("{:02X}", b) + " (a vocabulary of " +
                           std::to_string(vocab_.size()) + " pieces has no byte fallback for it)");
        }
        tokens.push_back(b + kByteTokenOffset);
      }
    }
    i += n;
  }
  // Merge the best-scoring pair (the leftmost on a tie) until no pair is a piece.
  for (;;) {
    float best_score = -1e10f;
    int best_id = -1;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      const int id = lookup(vocab_[static_cast<size_t>(tokens[i])] + vocab_[static_cast<size_t>(tokens[i + 1])]);
      if (id >= 0 && scores_[static_cast<size_t>(id)] > best_score) {
        best_score = scores_[static_cast<size_t>(id)];
        best_id = id;
        best_at = i;
      }
    }
    if (best_id < 0) break;
    tokens[best_at] = best_id;
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best_at) + 1);
  }
  if (eos) tokens.push_back(kEos);
  return tokens;
}

std::string Tokenizer::decode(int previous, int token) const {
  std::string piece = vocab_.at(static_cast<size_t>(token));
  // After BOS, SentencePiece drops the leading space.
  if (previous == kBos && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  unsigned int byte = 0;
  char tail = 0;
  if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X>%c", &byte, &tail) == 1) {
    return std::string(1, static_cast<char>(byte));
  }
  return piece;
}

}  // namespace npusim::decoder
