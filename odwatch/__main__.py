from odwatch.cli import main

main()
