"""The lean part of the k3s test double: everything the long-running server/agent needs, stdlib only.

It runs in its own `python3 -I -S` with only lean/ of the archive on sys.path, so it cannot import
the CLI's modules (k3scli) or third-party packages: that keeps each server at about 8 MB. The CLI
imports these modules too."""
