from salvage.cli.app import main

main()
