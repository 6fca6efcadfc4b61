#include "core/output_file.h"

#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "tests/test_support.h"

namespace strand {
namespace {

using test::TempDir;

TEST(AtomicOutput, NothingUnderFinalNameUntilCommit) {
  TempDir dir;
  const auto final_path = (dir / "out.txt").string();
  AtomicOutput out(final_path);
  EXPECT_NE(out.path(), final_path);
  EXPECT_EQ(std::filesystem::path(out.path()).parent_path(), dir.path());
  test::write_file(out.path(), "hello\n");
  EXPECT_FALSE(std::filesystem::exists(final_path));
  out.commit();
  EXPECT_EQ(test::read_file(final_path), "hello\n");
  EXPECT_EQ(dir.list(), std::vector<std::string>{"out.txt"});
}

TEST(AtomicOutput, DestructorWithoutCommitRemovesTemporaries) {
  TempDir dir;
  {
    AtomicOutput out((dir / "out.vcf.gz").string());
    test::write_file(out.path(), "partial");
    test::write_file(out.companion(".csi"), "partial index");
    EXPECT_EQ(dir.list().size(), 2u);
  }
  EXPECT_TRUE(dir.list().empty());
}

TEST(AtomicOutput, CompanionRenamedWithOutput) {
  TempDir dir;
  AtomicOutput out((dir / "x.bcf").string());
  test::write_file(out.path(), "data");
  test::write_file(out.companion(".csi"), "index");
  out.commit();
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"x.bcf", "x.bcf.csi"}));
}

TEST(AtomicOutput, ExistingFileReplacedOnlyOnCommit) {
  TempDir dir;
  const auto p = dir / "o.txt";
  test::write_file(p, "old");
  {
    AtomicOutput out(p.string());
    test::write_file(out.path(), "new");
  }
  EXPECT_EQ(test::read_file(p), "old");
  AtomicOutput out(p.string());
  test::write_file(out.path(), "new");
  out.commit();
  EXPECT_EQ(test::read_file(p), "new");
}

TEST(AtomicOutput, StdoutIsPassedThrough) {
  AtomicOutput out("-");
  EXPECT_TRUE(out.is_stdout());
  EXPECT_EQ(out.path(), "-");
  out.commit();
}

TEST(AtomicOutput, MissingOrReadOnlyDirectoryIsAClearError) {
  TempDir dir;
  try {
    AtomicOutput out((dir / "no/such/dir/out.vcf").string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  EXPECT_THROW(AtomicOutput(dir.path().string()), Error);  // a directory as output
  EXPECT_THROW(AtomicOutput(""), Error);
  if (geteuid() != 0) {  // root can write anywhere
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    EXPECT_THROW(AtomicOutput((dir / "o.txt").string()), Error);
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
  }
}

TEST(AtomicOutput, SignalRemovesTemporaries) {
  TempDir dir;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    install_output_cleanup_handlers();
    AtomicOutput out((dir / "out.txt").string());
    test::write_file(out.path(), "partial");
    raise(SIGTERM);
    _exit(0);  // not reached
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_TRUE(dir.list().empty());
}

}  // namespace
}  // namespace strand
