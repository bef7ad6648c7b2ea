from edgestore.cli import main

main()
