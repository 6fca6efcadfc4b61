#include "apps/help_formatter.h"

#include <sstream>

namespace strand::apps {

std::string word_wrap(const std::string& text, size_t width) {
  std::string out;
  size_t line_len = 0;
  std::istringstream lines(text);
  std::string line;
  bool first_line = true;
  while (std::getline(lines, line)) {
    if (!first_line) out += '\n';
    first_line = false;
    line_len = 0;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      if (line_len > 0 && line_len + 1 + word.size() > width) {
        out += '\n';
        line_len = 0;
      } else if (line_len > 0) {
        out += ' ';
        ++line_len;
      }
      out += word;
      line_len += word.size();
    }
  }
  return out;
}

std::string HelpFormatter::make_subcommand(const CLI::App* sub) const {
  const std::string& description = sub->get_description();
  std::stringstream out;
  CLI::detail::format_help(out, sub->get_display_name(true), description.substr(0, description.find('\n')),
                           get_column_width());
  return out.str();
}

std::string HelpFormatter::make_option_desc(const CLI::Option* opt) const {
  return word_wrap(opt->get_description(), kLineWidth - get_column_width());
}

std::string HelpFormatter::make_description(const CLI::App* app) const {
  const std::string description = CLI::Formatter::make_description(app);
  return description.empty() ? description : description + "\n";
}

}  // namespace strand::apps
