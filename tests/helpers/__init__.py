"""Code the test suite shares: fakes, builders, fixtures and Qt wait helpers, one module per role.

Test modules import from here, never from one another or from a conftest; conftest files
hold pytest hooks and register the fixtures defined here for their directory.

- `tokens`: the canary token every test that talks to the emulated service uses.
- `sandbox`: the emulated service in-process, on a `ManualClock`, a transport with hooks
  for fakes that do things to requests, and the sandbox fixtures.
- `loopback`: the emulated service on a real loopback port (end-to-end tests).
- `processes`: child processes: where they run, their environment, reaping.
- `dialing`: the click-to-call rig the dial guard and dialer panel tests share.
- `store`: a fresh call store on a real file.
- `builders`: call logs as the parser produces them; `missed_calls`: the missed-call cast.
- `fakes`: stand-ins for the client where the sandbox cannot time a failure.
- `recordings`: a real mp3 and a downloader that serves it.
- `qt`: the GUI tests' qasync loop, the ways to wait on Qt (signals, conditions), Qt
  stand-ins and the fixtures every GUI test runs under.
- `workspace`: the GUI tests' `open_workspace` fixture (a real workspace on a temporary
  home), its type, and the demo app's arguments and service.

The one clock fake is `desktop_app.services.clock.ManualClock`.
"""
