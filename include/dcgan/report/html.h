#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dcgan::report {

// `text` made safe for HTML text and attribute values: & < > " ' become entities. The one place
// where report pages escape anything.
std::string escape(std::string_view text);

// A relative file path as a URL path: bytes other than letters, digits, '-', '_', '.', '~' and '/'
// percent-encoded, so a folder named "a #1" or "50%" still links. escape() it too, as an attribute.
std::string url_path(std::string_view path);

// Writes an HTML document (inline SVG included) element by element. Every text and attribute value
// goes through escape(); elements close in order, so the markup is well formed by construction.
class HtmlWriter {
 public:
  using Attributes = std::vector<std::pair<std::string, std::string>>;

  HtmlWriter& open(const std::string& tag, const Attributes& attributes = {});
  HtmlWriter& close();  // the innermost open element
  // An element without content: <img ...> for HTML's void elements, <circle .../> otherwise.
  HtmlWriter& empty(const std::string& tag, const Attributes& attributes = {});
  HtmlWriter& text(std::string_view text);
  // open + text + close.
  HtmlWriter& element(const std::string& tag, std::string_view text,
                      const Attributes& attributes = {});
  // A <script> or <style> body: constant code of ours, never data. Throws std::logic_error when it
  // holds "</", which would end the element early.
  HtmlWriter& code(const std::string& tag, std::string_view code);

  // The markup; throws std::logic_error while elements are still open.
  std::string str() const;

 private:
  void write_tag(const std::string& tag, const Attributes& attributes);

  std::string out_;
  std::vector<std::string> open_;
};

}  // namespace dcgan::report
