from pocketdock.cli.main import main

main()
