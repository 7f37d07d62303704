// llama2.c's sampling and generation loop.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "decoder/llama.h"

namespace npusim::decoder {

uint32_t Sampler::random_u32() {
  // xorshift64*, as llama2.c
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1DULL) >> 32);
}

float Sampler::random_f32() {
  return static_cast<float>(random_u32() >> 8) / 16777216.0f;
}

int Sampler::sample(std::vector<float> logits) {
  const int n = static_cast<int>(logits.size());
  if (temperature_ == 0.0f) {
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());  // first maximum
  }
  for (float& l : logits) l /= temperature_;
  const float max_val = *std::max_element(logits.begin(), logits.end());
  float sum = 0.0f;
  for (float& l : logits) {
    l = std::exp(l - max_val);
    sum += l;
  }
  for (float& l : logits) l /= sum;
  const float coin = random_f32();
  if (top_p_ <= 0 || top_p_ >= 1) {
    float cdf = 0.0f;
    for (int i = 0; i < n; ++i) {
      cdf += logits[static_cast<size_t>(i)];
      if (coin < cdf) return i;
    }
    return n - 1;
  }
  // Top-p: the smallest set of the most probable tokens whose mass exceeds top_p (tokens below
  // (1 - top_p) / (n - 1) cannot be in it and are dropped first).
  const float cutoff = (1.0f - top_p_) / static_cast<float>(n - 1);
  std::vector<std::pair<float, int>> candidates;
  for (int i = 0; i < n; ++i) {
    if (logits[static_cast<size_t>(i)] >= cutoff) candidates.emplace_back(logits[static_cast<size_t>(i)], i);
  }
  if (candidates
          .empty()) {  // no probability reaches the cutoff (one token, or non-finite logits): the most likely
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  // Descending probability; equal ones by index, so that the draw is deterministic.
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  float cumulative = 0.0f;
  size_t last = candidates.size() - 1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    cumulative += candidates[i].first;
    if (cumulative > top_p_) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (size_t i = 0; i <= last; ++i) {
    cdf += candidates[i].first;
    if (r < cdf) return candidates[i].second;
  }
  return candidates[last].second;
}

std::string generate(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                     const std::string& prompt, int steps, std::vector<int>* tokens) {
  const std::vector<int> prompt_tokens = tokenizer.encode(prompt, true, false);
  std::string text;
  int token = prompt_tokens[0];
  if (tokens) tokens->assign(1, token);
  for (int pos = 0; pos < steps && pos < transformer.config().seq_len; ++pos) {
    const std::vector<float>& logits = transformer.forward(token, pos);
    const int next = pos + 1 < static_cast<int>(prompt_tokens.size()) ? prompt_tokens[static_cast<size_t>(pos) + 1]
                                                                      : sampler.sample(logits);
    if (next == 1) break;  // BOS ends a sequence
    const std::string piece = tokenizer.decode(token, next);
    // As llama2.c's safe_printf: a single raw byte is printed only when printable or whitespace.
    if (!(piece.size() == 1 && !std::isprint(static_cast<unsigned char>(piece[0])) &&
          !std::isspace(static_cast<unsigned char>(piece[0])))) {
      text += piece;
    }
    if (tokens) tokens->push_back(next);
    token = next;
  }
  return text;
}

}  // namespace npusim::decoder
