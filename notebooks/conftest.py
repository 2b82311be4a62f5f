"""nbmake runs the notebooks under pytest; they read COSTMODEL_QUICK=1 and use quick settings."""

import os

os.environ.setdefault("COSTMODEL_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
