"""The systemctl/journalctl stand-ins inside lab hosts."""
import subprocess
import time

import pytest

from conftest import destroy_lab, make_lab

NOTIFY = """[Unit]
Description=Notify test service

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/notifyd.env
Environment="GREETING=hello world" OTHER=1
ExecStartPre=-/bin/false
ExecStartPre=/bin/sh -c 'echo pre \\
  ran'
ExecStart=/usr/bin/python3 -c 'import os,socket,time; print(os.environ["GREETING"], os.environ.get("FROM_FILE"), flush=True); \\
  time.sleep(float(os.environ.get("DELAY", "0.3"))); \\
  s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"]); time.sleep(1000)'
Restart=always
RestartSec=1
TimeoutStartSec=3
KillMode=process

[Install]
WantedBy=multi-user.target
"""

SIMPLE = """[Unit]
Description=Simple test service
[Service]
Type=simple
ExecStart=/bin/sh -c 'sleep 1001 & sleep 1002'
Restart={restart}
RestartSec=0.5
KillMode={killmode}
[Install]
WantedBy=multi-user.target
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = make_lab(tmp_path_factory, stores=2)
    try:
        yield lab
    finally:
        destroy_lab(lab)


H = "store-001-s1"


def show(lab, unit, *props):
    r = lab.sh(H, f"systemctl show {' '.join('-p ' + p for p in props)} {unit}")
    return dict(l.split("=", 1) for l in r.stdout.splitlines())


def test_real_systemctl_cannot_run_here():
    # why the lab needs a stand-in: the machine's systemctl needs systemd as PID 1
    import subprocess
    r = subprocess.run(["/usr/bin/systemctl", "is-system-running"], capture_output=True, text=True)
    if "systemd" in open("/proc/1/comm").read():
        pytest.skip("this machine runs systemd")
    assert "not been booted with systemd" in r.stderr or r.returncode != 0


def test_host_looks_systemd_booted(lab):
    assert lab.sh(H, "test -d /run/systemd/system && systemctl is-system-running").stdout.strip() == "running"


def test_notify_service_enable_start_and_restart_on_failure(lab):
    lab.put(H, "/etc/systemd/system/notifyd.service", NOTIFY)
    lab.put(H, "/etc/notifyd.env", "FROM_FILE='from file'\n")
    lab.sh(H, "systemctl daemon-reload")
    r = lab.sh(H, "systemctl enable notifyd")
    assert "multi-user.target.wants/notifyd.service" in r.stderr
    assert lab.sh(H, "readlink /etc/systemd/system/multi-user.target.wants/notifyd.service").stdout.strip() == \
        "/etc/systemd/system/notifyd.service"
    assert lab.sh(H, "systemctl is-enabled notifyd").stdout.strip() == "enabled"
    t0 = time.time()
    lab.sh(H, "systemctl start notifyd")
    assert time.time() - t0 >= 0.3, "start returned before READY=1"
    p = show(lab, "notifyd", "ActiveState", "MainPID", "NRestarts", "ActiveEnterTimestamp")
    assert p["ActiveState"] == "active" and int(p["MainPID"]) > 1 and p["NRestarts"] == "0" and p["ActiveEnterTimestamp"]
    j = lab.sh(H, "journalctl -u notifyd --no-pager -o cat").stdout
    assert "pre ran" in j and "hello world from file" in j
    assert lab.sh(H, "journalctl -u notifyd -n 1 --no-pager").stdout.count("\n") == 1
    # kill the main process: Restart=always brings it back, counting restarts
    lab.sh(H, f"kill -9 {p['MainPID']}")
    deadline = time.time() + 10
    while time.time() < deadline:
        q = show(lab, "notifyd", "ActiveState", "MainPID", "NRestarts")
        if q["ActiveState"] == "active" and q["MainPID"] != p["MainPID"]:
            break
        time.sleep(0.2)
    assert q["ActiveState"] == "active" and q["NRestarts"] == "1", q
    r = lab.sh(H, "systemctl status notifyd")
    assert "Active: active (running)" in r.stdout


def test_enabled_service_starts_at_boot(lab):
    # (continues from the test above: notifyd is enabled)
    lab.tool("host", "restart", H)
    deadline = time.time() + 10
    while time.time() < deadline:
        if lab.sh(H, "systemctl is-active notifyd", check=False).stdout.strip() == "active":
            break
        time.sleep(0.2)
    assert lab.sh(H, "systemctl is-active notifyd").stdout.strip() == "active"
    assert show(lab, "notifyd", "NRestarts")["NRestarts"] == "0"      # state is per boot, like systemd's
    lab.sh(H, "systemctl disable --now notifyd")
    assert lab.sh(H, "systemctl is-active notifyd", check=False).stdout.strip() == "inactive"
    assert lab.sh(H, "systemctl is-enabled notifyd", check=False).returncode == 1


def test_notify_timeout_and_failed_prestart(lab):
    lab.put(H, "/etc/systemd/system/slow.service", NOTIFY.replace("Restart=always", "Restart=no"))
    lab.put(H, "/etc/default/slow", "DELAY=10\n")
    r = lab.sh(H, "systemctl start slow", check=False)
    assert r.returncode == 1 and "failed" in r.stderr
    assert lab.sh(H, "systemctl is-failed slow").stdout.strip() == "failed"
    assert "timed out" in lab.sh(H, "journalctl -u slow -o cat").stdout
    bad = "[Service]\nType=simple\nExecStartPre=/bin/false\nExecStart=/bin/sleep 100\n"
    lab.put(H, "/etc/systemd/system/badpre.service", bad)
    assert lab.sh(H, "systemctl start badpre", check=False).returncode == 1
    assert lab.sh(H, "systemctl is-active badpre", check=False).stdout.strip() == "failed"
    lab.put(H, "/etc/systemd/system/badenv.service", "[Service]\nEnvironmentFile=/nope.env\nExecStart=/bin/sleep 100\n")
    assert lab.sh(H, "systemctl start badenv", check=False).returncode == 1


def test_restart_on_failure_and_killmodes(lab):
    lab.put(H, "/etc/systemd/system/cg.service", SIMPLE.format(restart="on-failure", killmode="control-group"))
    lab.put(H, "/etc/systemd/system/pr.service", SIMPLE.format(restart="no", killmode="process"))
    lab.sh(H, "systemctl start cg pr")
    time.sleep(0.3)
    assert lab.sh(H, "ps -eo args | grep -c '^sleep 100[12]'").stdout.strip() == "4"
    lab.sh(H, "systemctl stop cg pr")
    time.sleep(0.3)
    # control-group: the whole service is gone; process: only the main process was killed
    left = lab.sh(H, "ps -eo args | grep '^sleep 100[12]'", check=False).stdout
    assert left.count("sleep 1001") == 1 and left.count("sleep 1002") == 1, left
    lab.sh(H, "pkill -f '[s]leep 100[12]'")
    # on-failure: a clean exit is not restarted, a failing one is
    lab.put(H, "/etc/systemd/system/once.service",
            "[Service]\nExecStart=/bin/sh -c 'sleep 0.3; exit ${CODE}'\nEnvironment=CODE=3\nRestart=on-failure\nRestartSec=0.2\n")
    lab.sh(H, "systemctl start once")
    time.sleep(2)
    assert int(show(lab, "once", "NRestarts")["NRestarts"]) >= 2
    lab.sh(H, "systemctl stop once")
    assert lab.sh(H, "systemctl is-active once", check=False).stdout.strip() == "inactive"


def test_unprivileged_systemctl_needs_sudo(lab):
    r = lab.ssh(H, "systemctl start notifyd", check=False)
    assert r.returncode != 0 and "Interactive authentication required" in r.stderr
    r = lab.ssh(H, "sudo -n systemctl is-enabled notifyd", check=False)
    assert r.stdout.strip() == "disabled"


def test_other_host_unaffected(lab):
    assert lab.sh("store-002-s1", "systemctl is-enabled notifyd", check=False).returncode == 1
    assert lab.sh("store-002-s1", "ls /var/log/lab-journal").stdout.strip() == ""


def test_unit_changes_need_daemon_reload_and_restarts_can_be_held(lab):
    unit = "[Service]\nExecStart=/bin/sh -c 'echo {word}; exec sleep 1003'\n"
    lab.put(H, "/etc/systemd/system/reload.service", unit.format(word="first"))
    lab.sh(H, "systemctl start reload")
    # like systemd: a unit file changed on disk keeps its loaded definition until daemon-reload
    lab.put(H, "/etc/systemd/system/reload.service", unit.format(word="second"))
    lab.sh(H, "systemctl restart reload")
    time.sleep(0.3)
    assert "second" not in lab.sh(H, "journalctl -u reload --no-pager -o cat").stdout
    lab.sh(H, "systemctl daemon-reload && systemctl restart reload")
    time.sleep(0.3)
    assert "second" in lab.sh(H, "journalctl -u reload --no-pager -o cat").stdout
    # a held restart stalls while the hold exists, then fails without restarting anything
    pid = show(lab, "reload", "MainPID")["MainPID"]
    lab.sh(H, "touch /run/lab-systemd/hold-restart")
    held = subprocess.Popen(["nsenter", "-t", str(lab.host(H)["init_pid"]), "-m", "-u", "-n", "-p", "--",
                             "systemctl", "restart", "reload"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    assert held.poll() is None, "the restart is stalled"
    lab.sh(H, "rm /run/lab-systemd/hold-restart")
    assert held.wait(10) != 0
    assert show(lab, "reload", "MainPID")["MainPID"] == pid
    lab.sh(H, "systemctl stop reload")
