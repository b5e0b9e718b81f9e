"""Premium bought in the App Store: signed transactions and App Store Server Notifications V2."""
