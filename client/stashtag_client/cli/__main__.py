from stashtag_client.cli import main

main()
