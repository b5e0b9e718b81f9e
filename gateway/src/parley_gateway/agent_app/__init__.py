"""The agent web app (app/ in the repository), served from its build at /app/."""
