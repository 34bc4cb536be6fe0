from sanan.cli import main

main()
