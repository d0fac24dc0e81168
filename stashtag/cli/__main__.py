from stashtag.cli import main

main()
