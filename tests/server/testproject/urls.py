from django.urls import path
from testproject import views

urlpatterns = [
    path("sleep/", views.sleep),
    path("boom/", views.boom),
    path("stream/", views.stream),
    path("hello/", views.hello),
    path("stats/", views.stats),
]
