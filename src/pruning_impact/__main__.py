from pruning_impact.cli import main

raise SystemExit(main())
