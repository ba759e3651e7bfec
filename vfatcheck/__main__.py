import sys

from vfatcheck.cli import main

sys.exit(main())
