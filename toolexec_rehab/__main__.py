"""`python -m toolexec_rehab ARGS`: the same as the `toolexec-rehab` command."""

import sys

if __name__ == "__main__":
    from toolexec_rehab.shim import main

    sys.exit(main(["toolexec-rehab", *sys.argv[1:]]))
