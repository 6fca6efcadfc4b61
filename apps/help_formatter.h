// The --help layout: the subcommand list shows each command's first description line, and
// option descriptions are word-wrapped so that the help fits a terminal.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace strand::apps {

class HelpFormatter : public CLI::Formatter {
 public:
  static constexpr size_t kColumnWidth = 32;  // where descriptions start
  static constexpr size_t kLineWidth = 110;   // where they wrap

  HelpFormatter() { column_width(kColumnWidth); }

  std::string make_subcommand(const CLI::App* sub) const override;
  std::string make_option_desc(const CLI::Option* opt) const override;
  std::string make_description(const CLI::App* app) const override;
};

// Breaks `text` into lines of at most `width` characters at spaces (existing newlines kept).
std::string word_wrap(const std::string& text, size_t width);

}  // namespace strand::apps
