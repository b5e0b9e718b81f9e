"""Statistics: conversation counts (the first screen's badges) and SmartHub figures."""
