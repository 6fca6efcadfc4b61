#include "genomics/hts_handles.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include "core/error.h"

namespace strand::genomics {

std::string errno_reason() {
  // HTSlib reports content it cannot recognise as ENOEXEC ("Exec format error").
  if (errno == ENOEXEC) return "unrecognized file format";
  return errno != 0 ? std::string(std::strerror(errno)) : std::string("unknown error");
}

namespace {
// A directory opens "successfully" in some HTSlib paths; say what it is instead.
void reject_directory(const std::string& path, std::string_view what) {
  struct stat st {};
  if (path != "-" && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    fail("cannot open ", what, " '", path, "': is a directory");
}
}  // namespace

HtsFilePtr open_hts(const std::string& path, const char* mode, std::string_view what) {
  reject_directory(path, what);
  errno = 0;
  HtsFilePtr fp(hts_open(path.c_str(), mode));
  if (!fp) fail("cannot open ", what, " '", path, "': ", errno_reason());
  return fp;
}

BgzfPtr open_bgzf(const std::string& path, const char* mode, std::string_view what) {
  reject_directory(path, what);
  errno = 0;
  BgzfPtr fp(bgzf_open(path.c_str(), mode));
  if (!fp) fail("cannot open ", what, " '", path, "': ", errno_reason());
  return fp;
}

HFilePtr open_hfile(const std::string& path, const char* mode, std::string_view what) {
  reject_directory(path, what);
  errno = 0;
  HFilePtr fp(hopen(path.c_str(), mode));
  if (!fp) fail("cannot open ", what, " '", path, "': ", errno_reason());
  return fp;
}

void flush_checked(BGZF* file, const std::string& path) {
  const int rc = file->is_compressed ? bgzf_flush(file) : hflush(file->fp);
  if (rc != 0) fail("error writing '", path, "': ", errno_reason());
}

void close_checked(HtsFilePtr& file, const std::string& path) {
  if (!file) return;
  const int rc = hts_close(file.release());
  if (rc != 0) fail("error closing '", path, "' (write failed or disk full?), hts_close returned ", rc);
}

void close_checked(BgzfPtr& file, const std::string& path) {
  if (!file) return;
  const int rc = bgzf_close(file.release());
  if (rc != 0) fail("error closing '", path, "' (write failed or disk full?), bgzf_close returned ", rc);
}

}  // namespace strand::genomics
