"""Container images: the agent/images/ folder, `ctr` and `crictl`."""
import os
import time

from k3scli.kube import die
from k3sd.files import sha256_file
from k3sd.log import logmsg


def import_images(data_dir):
    d = os.path.join(data_dir, "agent", "images")
    out = []
    if os.path.isdir(d):
        for fn in sorted(os.listdir(d)):
            if fn.endswith((".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.lz4", ".tar.bz2")):
                p = os.path.join(d, fn)
                t0 = time.time()
                size = os.path.getsize(p)
                logmsg("info", f"Importing images from {p}")
                logmsg("info", f"Imported images from {p} in {time.time() - t0:.6f}s ({size} bytes)")
                out.append({"file": p, "size": size, "sha256": sha256_file(p)})
    return out


def ctr_main(prog, argv):
    """Minimal containerd CLIs: image import is recorded like the images/ folder."""
    if prog == "ctr" and argv[:2] == ["images", "import"] or prog == "ctr" and argv[:2] == ["image", "import"]:
        for f in [x for x in argv[2:] if not x.startswith("-")]:
            try:
                size = os.path.getsize(f)
            except OSError as e:
                die(f"ctr: open {f}: {e.strerror}")
            print(f"unpacking (sha256:{sha256_file(f)})...done ({size} bytes)")
        return 0
    if prog == "crictl" and argv[:1] == ["images"] or prog == "ctr" and argv[:2] in (["images", "ls"], ["image", "ls"]):
        print("IMAGE                TAG                 IMAGE ID            SIZE")
        return 0
    die(f"{prog}: the lab's k3s double implements `ctr images import|ls` and `crictl images` only")
