// Progress line with an injected clock: the exact log lines (throttling,
// windowed rate, eta, forced last line), a note written at once and kept,
// terminal mode's in-place redraws, and eta formatting.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/train/ag_progress.h"

namespace {

struct FakeClock {
  double t = 0.0;
  static double now(void *ctx) { return static_cast<FakeClock *>(ctx)->t; }
};

// Collects what a progress writes into a string (open_memstream).
struct Capture {
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  std::string text() {
    fflush(f);
    return std::string(buf, len);
  }
  ~Capture() {
    fclose(f);
    free(buf);
  }
};

ag_progress with_clock(FakeClock *clock, ag_progress_mode mode = AG_PROGRESS_AUTO) {
  ag_progress p{};
  p.now = FakeClock::now;
  p.now_ctx = clock;
  p.mode = mode;
  return p;
}

TEST(Progress, LogLinesAreThrottledAndTheLastStepAlwaysWritten) {
  FakeClock clock;
  Capture out;
  ASSERT_NE(out.f, nullptr);
  ag_progress p = with_clock(&clock);
  ag_progress_begin(&p, "train", 5, "img", out.f);
  EXPECT_EQ(p.log_every_s, 10.0);
  // Step 1 at 0.5 s: the first rate, 64 img / 0.5 s, 2 steps/s, 4 steps left.
  clock.t = 0.5;
  ag_progress_update(&p, 1, 64, 1.0f);
  // 4 s later the window closes (16 img/s) but no line is due yet.
  clock.t = 4.5;
  ag_progress_update(&p, 2, 64, 0.5f);
  // 12 s after the first line: due; rate over the 8 s window: 8 img/s,
  // 0.125 steps/s, 2 steps left = 16 s.
  clock.t = 12.5;
  ag_progress_update(&p, 3, 64, 0.25f);
  clock.t = 13.0;
  ag_progress_update(&p, 4, 64, 0.2f);
  // The last step is written although only 0.75 s passed; the window is
  // shorter than 1 s, so the rate stays at the last measured one.
  clock.t = 13.25;
  ag_progress_update(&p, 5, 64, 0.125f);
  ag_progress_end(&p);
  EXPECT_EQ(out.text(),
            "train  step 1/5  128 img/s  loss 1.0000  eta 2s\n"
            "train  step 3/5  8.00 img/s  loss 0.2500  eta 16s\n"
            "train  step 5/5  8.00 img/s  loss 0.1250  eta 0s\n");
}

TEST(Progress, ANoteIsWrittenAtOnceAndKeptOnLaterLines) {
  FakeClock clock;
  Capture out;
  ag_progress p = with_clock(&clock, AG_PROGRESS_LOG);
  ag_progress_begin(&p, "train nerf", 100, "ray", out.f);
  clock.t = 1.0;
  ag_progress_update(&p, 1, 10, 0.5f);
  clock.t = 2.0;
  ag_progress_update(&p, 2, 10, 0.5f);  // not due: 1 s after the first line
  ag_progress_note(&p, "val %.2f dB", 21.5);
  clock.t = 3.0;
  ag_progress_update(&p, 3, 10, 0.25f);  // due: the note is fresh
  clock.t = 4.0;
  ag_progress_update(&p, 4, 10, 0.25f);  // not due again
  clock.t = 14.0;
  ag_progress_update(&p, 5, 10, 0.25f);  // due by time; the note stays
  ag_progress_end(&p);
  EXPECT_EQ(out.text(),
            "train nerf  step 1/100  10.0 ray/s  loss 0.5000  eta 1m39s\n"
            "train nerf  step 3/100  10.0 ray/s  loss 0.2500  eta 1m37s  val 21.50 dB\n"
            "train nerf  step 5/100  1.00 ray/s  loss 0.2500  eta 15m50s  val 21.50 dB\n");
}

TEST(Progress, EndWritesAnUnwrittenStepAndIntervalIsSettable) {
  FakeClock clock;
  Capture out;
  ag_progress p = with_clock(&clock, AG_PROGRESS_LOG);
  p.log_every_s = 2.0;
  ag_progress_begin(&p, "gan", 0, "img", out.f);  // unknown total: no "/total", no eta
  clock.t = 1.0;
  ag_progress_update(&p, 1, 10, 2.0f);
  clock.t = 2.0;
  ag_progress_update(&p, 2, 30, 1.5f);  // 1 s after the first line: not yet
  clock.t = 3.0;
  ag_progress_update(&p, 3, 30, 1.25f);  // 2 s: due
  clock.t = 4.0;
  ag_progress_update(&p, 4, 30, 1.0f);
  ag_progress_end(&p);  // step 4 was not written yet
  EXPECT_EQ(out.text(),
            "gan  step 1  10.0 img/s  loss 2.0000\n"
            "gan  step 3  30.0 img/s  loss 1.2500\n"
            "gan  step 4  30.0 img/s  loss 1.0000\n");
}

TEST(Progress, TerminalModeRedrawsOneLineAtMostTenTimesASecond) {
  FakeClock clock;
  Capture out;
  ag_progress p = with_clock(&clock, AG_PROGRESS_TTY);
  ag_progress_begin(&p, "nerf", 100, "ray", out.f);
  for (int s = 1; s <= 100; s++) {
    clock.t = 0.01 * s;  // 100 steps in 1 s: ~10 redraws plus the last step
    ag_progress_update(&p, s, 1000, 0.5f);
  }
  ag_progress_end(&p);
  std::string text = out.text();
  size_t redraws = 0;
  for (char c : text) redraws += c == '\r';
  EXPECT_GE(redraws, 9u);
  EXPECT_LE(redraws, 12u);
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line, ended once";
  EXPECT_NE(text.find("\rnerf  step 100/100  "), std::string::npos) << text;
  EXPECT_NE(text.find("\033[K"), std::string::npos) << "clears leftovers of longer lines";
}

TEST(Progress, EtaFormatting) {
  char buf[32];
  auto eta = [&](double s) { return std::string(ag_progress_format_eta(s, buf, sizeof buf)); };
  EXPECT_EQ(eta(0.0), "0s");
  EXPECT_EQ(eta(45.0), "45s");
  EXPECT_EQ(eta(59.4), "59s");
  EXPECT_EQ(eta(59.6), "1m00s");
  EXPECT_EQ(eta(185.0), "3m05s");
  EXPECT_EQ(eta(3599.0), "59m59s");
  EXPECT_EQ(eta(3725.0), "1h02m");
  EXPECT_EQ(eta(90061.0), "25h01m");
  EXPECT_EQ(eta(-1.0), "?");
  EXPECT_EQ(eta(NAN), "?");
  EXPECT_EQ(eta(INFINITY), "?");
}

}  // namespace
