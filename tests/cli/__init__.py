"""What the CLI tests share: running ``micrograd-mlp`` in-process."""

from micrograd_mlp.cli import main


def run_cli(argv, capsys):
    """main(argv) -> (exit status, stdout, stderr); SystemExit from argparse becomes a status."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
