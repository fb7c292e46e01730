from ._cli import main

if __name__ == "__main__":  # not when a test collector imports the module
    raise SystemExit(main())
