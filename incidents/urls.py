urlpatterns: list = []
app_name = "incidents"
